"""A light process that places blocks of rows with a fitted UMAP (``python -m`` from :mod:`layout`).

Started with ``python -m lucid_atlas.atlas.place_worker FOLDER``, it loads the fitted reducer that
:class:`layout._Placer` pickled into FOLDER (a private temporary folder), then answers one
request a line on stdin — ``rows.npy out.npy`` — by placing the rows and writing their [n, 2]
float32 coordinates, and replies ``done`` (or ``error: ...``) on stdout. It imports numpy and umap
only: not the caller's ``__main__``, which a multiprocessing worker would import (a CLI's or a
script's, with TensorFlow), and not TensorFlow, which ``import umap`` loads for its optional
ParametricUMAP unless, as here, the import is refused: 0.25 GB a worker instead of 0.75.
"""

from __future__ import annotations

import os
import pickle
import sys
import warnings

import numpy as np

from .umap_cache import UNCACHEABLE_WARNING, cache_umap_compilation

REDUCER_FILE = "reducer.pkl"


def place(reducer, rows: np.ndarray) -> np.ndarray:
    """The fitted reducer's 2-D coordinates for ``rows`` [n, depth] as float32 [n, 2]."""
    with warnings.catch_warnings():  # seeded UMAP runs single-threaded and says so every time
        warnings.filterwarnings("ignore", message="n_jobs value")
        warnings.filterwarnings("ignore", message=UNCACHEABLE_WARNING)
        return reducer.transform(rows).astype(np.float32)


def serve(folder: str, requests=sys.stdin, replies=sys.stdout) -> None:
    """Answer placement requests until stdin closes."""
    with open(os.path.join(folder, REDUCER_FILE), "rb") as f:
        reducer = pickle.load(f)  # written by our parent into its own private folder
    cache_umap_compilation()  # after the unpickling imported umap
    for line in requests:
        source, target = line.split()
        try:
            xy = place(reducer, np.load(source))
            np.save(target + ".tmp.npy", xy)
            os.replace(target + ".tmp.npy", target)
            replies.write("done\n")
        except Exception as err:  # reported to the parent, which raises it with this text
            message = f"error: {type(err).__name__}: {err}".replace("\n", " ")
            replies.write(message + "\n")
        replies.flush()


if __name__ == "__main__":
    sys.modules.setdefault("tensorflow", None)  # this process never needs it: umap then skips ParametricUMAP
    serve(sys.argv[1])
