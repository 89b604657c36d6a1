"""Reproduce-the-published-atlas path on a tiny InceptionV1-like graph: activation pages in, an atlas
whose cells are named by the model's own head, then `lucid-atlas compare` against a web JSON grid."""

from __future__ import annotations

import json

import numpy as np

from lucid_atlas import cli, models
from lucid_atlas.atlas import collect

from .models.tiny_graphs import lucid_like_graph_def


def test_atlas_from_published_pages_then_compare(tmp_path, capsys):
    pb = tmp_path / "InceptionV1.pb"
    pb.write_bytes(lucid_like_graph_def().SerializeToString())
    model = models.load(str(pb))
    depth = model.layer("mixed3a").depth
    rng = np.random.default_rng(0)
    pages = []
    for p in range(2):
        path = tmp_path / f"mixed3a-{p:05d}-of-01000.npy"
        np.save(path, np.abs(rng.normal(size=(60, depth))).astype(np.float32))
        pages.append(str(path))
    out = tmp_path / "atlas"
    assert cli.main(["atlas", "--model", str(pb), "--layer", "mixed3a", "--vectors", *pages, "--grid", "4",
                     "--min-count", "1", "--n-neighbors", "10", "--icon-size", "16", "--steps", "4",
                     "--out", str(out), "--json", "--no-progress"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["rows"] == 120
    acts = collect.load_activations(str(out / "activations"))
    assert (acts.top_classes[:, 0] >= 0).all()  # named by feeding each vector to the head
    grid = json.load(open(out / "atlas_4.json"))
    web = [{"x": c["row"], "y": c["col"], "n": c["count"], "i": [t["index"] for t in c["top_classes"]],
            "v": [t["share"] for t in c["top_classes"]]} for c in grid["cells"]]  # a transposed "published" grid
    (tmp_path / "web.json").write_text(json.dumps(web))
    assert cli.main(["compare", str(out), str(tmp_path / "web.json"), "--grid", "4", "--out",
                     str(tmp_path / "cmp"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["alignment"] == "transpose" and report["top1_agreement"] == 1.0
