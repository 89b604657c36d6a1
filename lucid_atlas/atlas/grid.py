"""Stage 3: bin a layout into an n×n grid and summarize each cell (mean direction, classes, examples)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from . import rows as rows_lib
from .rows import Rows


@dataclass
class Cell:
    """One grid cell: position, member count, mean activation and who lives there."""

    row: int
    col: int
    count: int
    direction: np.ndarray
    top_classes: list[tuple[int, float]] = field(default_factory=list)
    examples: list[int] = field(default_factory=list)

    def summary(self, labels=None) -> dict:
        """JSON-able description (the direction left out)."""
        return {"row": self.row, "col": self.col, "count": self.count,
                "top_classes": [{"index": c, "share": round(s, 4),
                                 **({"label": labels[c]} if labels is not None else {})}
                                for c, s in self.top_classes],
                "examples": self.examples}


def cell_of(xy: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column (0..n-1) of each point of a [0, 1]² layout; row 0 is the top (y = 1)."""
    col = np.clip((xy[:, 0] * n).astype(int), 0, n - 1)
    row = np.clip(((1 - xy[:, 1]) * n).astype(int), 0, n - 1)
    return row, col


def make_grid(xy: np.ndarray, vectors: Rows, n: int, min_count: int = 3,
              *, top_classes: np.ndarray | None = None, image_index: np.ndarray | None = None,
              n_top: int = 3, n_examples: int = 4, progress: bool = False,
              means: dict[int, np.ndarray] | None = None) -> list[Cell]:
    """Cells with at least ``min_count`` points, each with its mean vector and top-1 class shares.

    ``vectors`` in memory give each cell's exact float32 mean; a
    :class:`~lucid_atlas.atlas.rows.ShardedRows` is summed shard by shard (float64) instead,
    so memory stays bounded whatever the number of rows. ``means`` (cell key → mean) skips the
    vectors altogether, for a grid computed before."""
    rows, cols = cell_of(xy, n)
    key = rows * n + cols
    streamed = means is None and not isinstance(vectors, np.ndarray)
    sums = _cell_sums(key, vectors, n, progress) if streamed else None
    cells = []
    for k in np.unique(key):
        members = np.flatnonzero(key == k)
        if len(members) < min_count:
            continue
        classes: list[tuple[int, float]] = []
        if top_classes is not None:
            counts = Counter(int(c) for c in top_classes[members, 0])
            classes = [(c, m / len(members)) for c, m in counts.most_common(n_top)]
        examples = []
        if image_index is not None:
            examples = [int(i) for i in dict.fromkeys(image_index[members].tolist())][:n_examples]
        if means is not None:  # known from an earlier run (keyed by row * n + col)
            mean = means[int(k)]
        elif sums is None:
            mean = vectors[members].mean(0)
        else:
            mean = (sums[k] / len(members)).astype(np.float32)
        cells.append(Cell(int(k // n), int(k % n), len(members), mean, classes, examples))
    return cells


def _cell_sums(key: np.ndarray, vectors: Rows, n: int, progress: bool) -> np.ndarray:
    """Sum of the rows in each of the n × n cells [n², depth] (float64), one batch of rows at a time."""
    sums = np.zeros((n * n, vectors.shape[1]), np.float64)
    for start, batch in rows_lib.batches(vectors, progress, f"grid {n}"):
        k = key[start:start + len(batch)]
        order = np.argsort(k, kind="stable")
        cells, first = np.unique(k[order], return_index=True)
        sums[cells] += np.add.reduceat(batch[order].astype(np.float64), first, axis=0)
    return sums


def class_purity(xy: np.ndarray, top1: np.ndarray, n: int, min_count: int = 3) -> float:
    """Mean over cells of the share of rows whose top-1 class is among the cell's 3 commonest."""
    rows, cols = cell_of(xy, n)
    key = rows * n + cols
    shares = []
    for k in np.unique(key):
        members = top1[key == k]
        if len(members) < min_count:
            continue
        common = {c for c, _ in Counter(members.tolist()).most_common(3)}
        shares.append(np.isin(members, list(common)).mean())
    return float(np.mean(shares)) if shares else float("nan")
