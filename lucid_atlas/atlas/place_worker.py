"""Light processes that fit UMAP and place blocks of rows with it (``python -m`` from :mod:`layout`).

``python -m lucid_atlas.atlas.place_worker FOLDER --fit`` fits UMAP on the rows in FOLDER (a private
temporary folder that :class:`layout._Placer` made) with the options it wrote there, pickles the
fitted reducer and writes the fit rows' coordinates, then exits: the caller never imports umap and
never holds the fit's working memory (~1 GB on 20 000 rows of 1152 channels).
``python -m lucid_atlas.atlas.place_worker FOLDER`` loads that reducer, then answers one request a
line on stdin — ``rows.npy out.npy`` — by placing the rows and writing their [n, 2] float32
coordinates, and replies ``done`` (or ``error: ...``) on stdout. Both import numpy and umap only:
not the caller's ``__main__``, which a multiprocessing worker would import (a CLI's or a script's,
with TensorFlow), and not TensorFlow, which ``import umap`` loads for its optional ParametricUMAP
unless, as here, the import is refused: 0.25 GB a worker instead of 0.75.
"""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import sys
import warnings

import numpy as np

from .umap_cache import UNCACHEABLE_WARNING, cache_umap_compilation

REDUCER_FILE = "reducer.pkl"
FIT_ROWS, FIT_OPTIONS, FIT_XY = "fit-rows.npy", "fit-options.json", "fit-xy.npy"


@contextlib.contextmanager
def _quiet():
    """Without the warnings UMAP repeats on every call: seeded runs are single-threaded, and numba
    cannot cache pynndescent's descent."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="n_jobs value")
        warnings.filterwarnings("ignore", message=UNCACHEABLE_WARNING)
        yield


def fit(rows: np.ndarray, options: dict):
    """(a UMAP fitted on ``rows`` [n, depth] with ``options``, the rows' float32 [n, 2] coordinates)."""
    import umap

    cache_umap_compilation()
    reducer = umap.UMAP(**options)
    with _quiet():
        return reducer, reducer.fit_transform(rows).astype(np.float32)


def place(reducer, rows: np.ndarray) -> np.ndarray:
    """The fitted reducer's 2-D coordinates for ``rows`` [n, depth] as float32 [n, 2]."""
    with _quiet():
        return reducer.transform(rows).astype(np.float32)


def fit_into(folder: str) -> None:
    """Fit on the folder's rows and options; write the pickled reducer and the rows' coordinates."""
    with open(os.path.join(folder, FIT_OPTIONS)) as f:
        options = json.load(f)
    reducer, xy = fit(np.load(os.path.join(folder, FIT_ROWS)), options)
    with open(os.path.join(folder, REDUCER_FILE), "wb") as f:  # read only after this process exits
        pickle.dump(reducer, f, protocol=pickle.HIGHEST_PROTOCOL)
    np.save(os.path.join(folder, FIT_XY), xy)


def serve(folder: str, requests=sys.stdin, replies=sys.stdout) -> None:
    """Answer placement requests until stdin closes."""
    with open(os.path.join(folder, REDUCER_FILE), "rb") as f:
        reducer = pickle.load(f)  # written by a fit process into our parent's private folder
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
    if sys.argv[2:] == ["--fit"]:
        fit_into(sys.argv[1])
    else:
        serve(sys.argv[1])
