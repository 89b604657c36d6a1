"""Stage 2: whitening and a 2-D layout (UMAP or t-SNE) of activation vectors, normalized to [0, 1]."""

from __future__ import annotations

import warnings

import numpy as np

METHODS = ("umap", "tsne")


def whitening_matrix(vectors: np.ndarray, epsilon: float = 1e-3) -> np.ndarray:
    """Lucid's S: the inverse of the (uncentered) activation covariance, regularized by ``epsilon``."""
    x = np.asarray(vectors, np.float64)
    cov = x.T @ x / max(1, len(x))
    cov += epsilon * np.trace(cov) / len(cov) * np.eye(len(cov))
    return np.linalg.inv(cov).astype(np.float32)


def normalize_layout(xy: np.ndarray, clip_percentile: float = 1.0, margin: float = 0.02) -> np.ndarray:
    """Scale a layout into [margin, 1 - margin]², clipping outliers to the 1st–99th percentiles."""
    xy = np.asarray(xy, np.float64)
    lo = np.percentile(xy, clip_percentile, axis=0)
    hi = np.percentile(xy, 100 - clip_percentile, axis=0)
    unit = (np.clip(xy, lo, hi) - lo) / np.maximum(hi - lo, 1e-12)
    return (margin + unit * (1 - 2 * margin)).astype(np.float32)


def layout(vectors: np.ndarray, method: str = "umap", n_neighbors: int = 50, min_dist: float = 0.05,
           metric: str = "cosine", perplexity: float = 30.0, fit_sample: int | None = 20000,
           seed: int = 0, normalize: bool = True) -> np.ndarray:
    """2-D coordinates for each vector ([N, 2], in [0, 1] when ``normalize``).

    UMAP (the article's choice: 50 neighbors, min_dist 0.05, cosine) is fitted on at most
    ``fit_sample`` rows and places the rest with ``transform``; t-SNE (scikit-learn) embeds all
    rows, so keep N moderate with it.
    """
    x = np.asarray(vectors, np.float32)
    if method not in METHODS:
        raise ValueError(f"layout method must be one of {', '.join(METHODS)}, got '{method}'")
    if len(x) < 5:
        raise ValueError(f"need at least 5 vectors for a layout, got {len(x)}")
    if method == "umap":
        import umap

        rng = np.random.default_rng(seed)
        fit_idx = (np.sort(rng.choice(len(x), fit_sample, replace=False))
                   if fit_sample and len(x) > fit_sample else np.arange(len(x)))
        reducer = umap.UMAP(n_components=2, n_neighbors=min(n_neighbors, len(fit_idx) - 1),
                            min_dist=min_dist, metric=metric, random_state=seed)
        xy = np.zeros((len(x), 2), np.float32)
        with warnings.catch_warnings():  # seeded UMAP runs single-threaded and says so every time
            warnings.filterwarnings("ignore", message="n_jobs value")
            xy[fit_idx] = reducer.fit_transform(x[fit_idx])
            rest = np.setdiff1d(np.arange(len(x)), fit_idx)
            if len(rest):
                xy[rest] = reducer.transform(x[rest])
    else:
        from sklearn.manifold import TSNE

        xy = TSNE(n_components=2, perplexity=min(perplexity, (len(x) - 1) / 3), metric=metric,
                  init="pca", random_state=seed).fit_transform(x)
    return normalize_layout(xy) if normalize else xy.astype(np.float32)


def embed_1d(vectors: np.ndarray, metric: str = "cosine", perplexity: float = 30.0, seed: int = 0) -> np.ndarray:
    """A 1-D t-SNE of the vectors, normalized to [0, 1] (the comparison atlas's vertical axis)."""
    from sklearn.manifold import TSNE

    x = np.asarray(vectors, np.float32)
    if len(x) < 5:
        raise ValueError(f"need at least 5 vectors for a layout, got {len(x)}")
    y = TSNE(n_components=1, perplexity=min(perplexity, (len(x) - 1) / 3), metric=metric, init="pca",
             random_state=seed).fit_transform(x)
    return normalize_layout(y)[:, 0]
