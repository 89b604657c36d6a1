"""Classification accuracy of a zoo model on an image folder, to check conversions and inputs."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import tensorflow as tf
from tqdm.auto import tqdm

from ..io.images import ImageSource, SkipCounter, iter_batches, label_from_path, resolve_paths
from .base import ModelError, VisionModel


@dataclass
class Evaluation:
    """What a model predicted for a set of images, with accuracy when labels were known."""

    model: str
    n: int
    n_labelled: int
    top1: float | None
    top5: float | None
    skipped: int
    seconds: float
    predictions: list[dict] = field(default_factory=list)

    def summary(self) -> dict:
        """The figures as a flat JSON-able dict (no per-image rows)."""
        return {"model": self.model, "n": self.n, "n_labelled": self.n_labelled, "top1": self.top1,
                "top5": self.top5, "skipped": self.skipped, "seconds": round(self.seconds, 2),
                "images_per_second": round(self.n / self.seconds, 2) if self.seconds else None}


def _true_class(model: VisionModel, path: str) -> int | None:
    label = label_from_path(path)
    if label is None:
        return None
    if label in model.synsets:
        return model.synsets.index(label)
    try:
        return model.class_index(label)
    except ModelError:
        return None


def evaluate(model: VisionModel, source: ImageSource, *, batch_size: int = 32, top_k: int = 5,
             resize_short: int | None = None, limit: int | None = None, progress: bool = True) -> Evaluation:
    """Top-1/top-5 where each image's class is known from its synset file name or folder name.

    Images are resized (short side ``resize_short``, default size×256/224) and center-cropped
    to the model's input size, the standard ImageNet evaluation protocol.
    """
    h, w, _ = model.image_shape
    resize_short = resize_short or int(model.info.get("eval_resize", round(max(h, w) * 256 / 224)))
    paths = resolve_paths(source) if not isinstance(source, np.ndarray) else None
    if paths is not None and limit:
        paths = paths[:limit]
    total = len(paths) if paths is not None else len(source)
    skips = SkipCounter()
    if model.logits_layer is None:
        raise ModelError(f"model '{model.name}' has no classification output to evaluate")
    logits_fn = model.compiled_activations([model.logits_layer])
    hits1 = hits5 = labelled = n = 0
    predictions = []
    start = time.perf_counter()
    bar = tqdm(total=total, unit="img", desc=f"evaluate {model.name}", disable=not progress)
    for batch in iter_batches(paths if paths is not None else source, (h, w), batch_size, resize_short=resize_short,
                              skips=skips):
        logits = logits_fn(tf.constant(batch.images))[0].numpy()
        probs = tf.nn.softmax(logits).numpy()
        top = np.argsort(-logits, axis=1)[:, :top_k]
        for image_id, row, p in zip(batch.ids, top, probs):
            truth = _true_class(model, image_id) if paths is not None else None
            if truth is not None:
                labelled += 1
                hits1 += int(row[0] == truth)
                hits5 += int(truth in row[:5])
            predictions.append({"image": image_id, "label": truth,
                                "top": [{"index": int(i), "class": model.labels[i], "p": round(float(p[i]), 4)}
                                        for i in row]})
        n += len(batch.ids)
        bar.update(len(batch.ids))
        if len(skips):
            bar.set_postfix(skipped=len(skips))
    bar.close()
    seconds = time.perf_counter() - start
    return Evaluation(model.name, n, labelled, hits1 / labelled if labelled else None,
                      hits5 / labelled if labelled else None, len(skips), seconds, predictions)
