"""Images in: folders, path lists, numpy arrays or the embedded defaults, as float NHWC in [0, 1].

Unreadable files never stop a run: they are skipped, counted and reported once.
"""

from __future__ import annotations

import io
import os
import re
import warnings
from dataclasses import dataclass, field
from typing import Iterator, Sequence, Union

import numpy as np
import tensorflow as tf
from PIL import Image, UnidentifiedImageError

TFDS_PREFIX = "tfds:"
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff")
DEFAULT_SOURCE = "default"
_SYNSET = re.compile(r"^(n\d{8})(?:_|$)")

ImageSource = Union[str, os.PathLike, Sequence[str], np.ndarray, None]


class ImageReadError(OSError):
    """A file that is not a readable image."""


@dataclass
class ImageBatch:
    """A batch of images in [0, 1] (N, H, W, 3) with their ids (paths or names)."""

    images: np.ndarray
    ids: list[str]


@dataclass
class SkipCounter:
    """Unreadable inputs seen so far, so a run can say how many it skipped and why."""

    skipped: list[tuple[str, str]] = field(default_factory=list)

    def add(self, item: str, reason: str) -> None:
        self.skipped.append((item, reason))
        warnings.warn(f"skipping unreadable image {item}: {reason}", stacklevel=3)

    def __len__(self) -> int:
        return len(self.skipped)


def is_image_file(path: str) -> bool:
    """Whether a file name has an image extension we read."""
    return path.lower().endswith(IMAGE_EXTENSIONS)


def list_images(folder: str, recursive: bool = True) -> list[str]:
    """Image files under a folder (any gfile filesystem), sorted, recursing into subfolders."""
    folder = os.fspath(folder)
    if not tf.io.gfile.isdir(folder):
        raise FileNotFoundError(f"image folder '{folder}' does not exist")
    found = []
    if recursive:
        for root, _dirs, files in tf.io.gfile.walk(folder):
            found += [os.path.join(root, f) for f in files if is_image_file(f)]
    else:
        found = [os.path.join(folder, f) for f in tf.io.gfile.listdir(folder) if is_image_file(f)]
    return sorted(found)


def fit_image(img: Image.Image, size: int | tuple[int, int] | None, resize_short: int | None = None) -> Image.Image:
    """Resize the short side to ``resize_short`` (default: the target size), then center-crop."""
    if size is None:
        return img
    th, tw = (size, size) if isinstance(size, int) else size
    short = resize_short or max(th, tw)
    w, h = img.size
    scale = short / min(w, h)
    nw, nh = max(tw, round(w * scale)), max(th, round(h * scale))
    img = img.resize((nw, nh), Image.BILINEAR)
    left, top = (nw - tw) // 2, (nh - th) // 2
    return img.crop((left, top, left + tw, top + th))


def to_array(img: Image.Image) -> np.ndarray:
    """A PIL image as float32 HxWx3 in [0, 1]."""
    return np.asarray(img.convert("RGB"), dtype=np.float32) / 255.0


def load_image(path: str, size: int | tuple[int, int] | None = None,
               resize_short: int | None = None) -> np.ndarray:
    """One image file as float32 HxWx3 in [0, 1]; raises ImageReadError if unreadable."""
    try:
        with tf.io.gfile.GFile(os.fspath(path), "rb") as f:
            data = f.read()
        with Image.open(io.BytesIO(data)) as img:
            img.load()
            return to_array(fit_image(img.convert("RGB"), size, resize_short))
    except (UnidentifiedImageError, OSError, ValueError, tf.errors.OpError) as exc:
        raise ImageReadError(f"{path}: {exc.__class__.__name__}: {exc}") from None


def _default_image_paths() -> list[str]:
    paths = []
    try:
        import skimage.data
        root = os.path.dirname(skimage.data.__file__)
        for name in ("astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg", "motorcycle_left.png",
                     "hubble_deep_field.jpg", "retina.jpg", "ihc.png", "grass.png", "gravel.png",
                     "brick.png", "camera.png", "moon.png", "coins.png", "page.png", "color.png"):
            if os.path.exists(os.path.join(root, name)):
                paths.append(os.path.join(root, name))
    except ImportError:
        pass
    import sklearn.datasets
    root = os.path.join(os.path.dirname(sklearn.datasets.__file__), "images")
    paths += [os.path.join(root, n) for n in ("china.jpg", "flower.jpg")
              if os.path.exists(os.path.join(root, n))]
    return paths


def default_image_paths() -> list[str]:
    """The embedded offline image set: photos that scikit-image and scikit-learn ship."""
    paths = _default_image_paths()
    if not paths:
        raise FileNotFoundError("no embedded images found: pip install scikit-image scikit-learn")
    return paths


def is_tfds(source: ImageSource) -> bool:
    """Whether a source names a TensorFlow Datasets split: ``tfds:<name>[/<split>]``."""
    return isinstance(source, str) and source.startswith(TFDS_PREFIX)


def _tfds_split(source: str):
    try:
        import tensorflow_datasets as tfds
    except ImportError:
        raise ImportError("TensorFlow Datasets sources need tensorflow-datasets: "
                          "pip install 'lucid-atlas[tfds]'") from None
    name, _, split = source[len(TFDS_PREFIX):].partition("/")
    split = split or "train"
    try:
        ds = tfds.load(name, split=split, shuffle_files=False)
    except Exception as exc:  # unknown name, no network, missing split: one clear line
        raise FileNotFoundError(f"could not load TensorFlow Datasets '{name}' split '{split}' "
                                f"({exc.__class__.__name__}: {str(exc).splitlines()[0][:200]})") from None
    if "image" not in ds.element_spec:
        raise ValueError(f"'{name}' has no 'image' feature; its features are {list(ds.element_spec)}")
    return tfds, ds, name, split


def tfds_ids(source: str) -> list[str]:
    """Stable ids (``tfds:<name>/<split>#<i>``) of every example of a TFDS split."""
    _, ds, name, split = _tfds_split(source)
    count = int(ds.cardinality())
    if count < 0:
        count = sum(1 for _ in ds)
    return [f"{TFDS_PREFIX}{name}/{split}#{i}" for i in range(count)]


def iter_tfds_batches(source: str, size: int | tuple[int, int], batch_size: int, *, start: int = 0,
                      stop: int | None = None, resize_short: int | None = None) -> Iterator[ImageBatch]:
    """Batches in [0, 1] of examples ``start:stop`` of a TFDS split, resized and center-cropped."""
    tfds, ds, name, split = _tfds_split(source)
    ds = ds.skip(start)
    if stop is not None:
        ds = ds.take(stop - start)
    images, ids = [], []
    for i, example in enumerate(tfds.as_numpy(ds), start):
        img = Image.fromarray(example["image"].squeeze()).convert("RGB")
        images.append(to_array(fit_image(img, size, resize_short)))
        ids.append(f"{TFDS_PREFIX}{name}/{split}#{i}")
        if len(images) == batch_size:
            yield ImageBatch(np.stack(images), ids)
            images, ids = [], []
    if images:
        yield ImageBatch(np.stack(images), ids)


def resolve_paths(source: ImageSource) -> list[str]:
    """The image paths a source names: folder, single file, list of paths, or the defaults."""
    if source is None or (isinstance(source, str) and source == DEFAULT_SOURCE):
        return default_image_paths()
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        if tf.io.gfile.isdir(path):
            return list_images(path)
        if tf.io.gfile.exists(path):
            return [path]
        raise FileNotFoundError(f"no image folder or file at '{path}'")
    return [os.fspath(p) for p in source]


def iter_batches(source: ImageSource, size: int | tuple[int, int] = 224, batch_size: int = 32,
                 *, resize_short: int | None = None, skips: SkipCounter | None = None,
                 start: int = 0) -> Iterator[ImageBatch]:
    """Stream a source as batches in [0, 1]; unreadable files are skipped and counted in ``skips``."""
    skips = skips if skips is not None else SkipCounter()
    if isinstance(source, np.ndarray):
        arr = np.asarray(source, np.float32)
        if arr.ndim != 4 or arr.shape[-1] != 3:
            raise ValueError(f"image arrays must be (N, H, W, 3) in [0, 1], got shape {arr.shape}")
        for i in range(start, len(arr), batch_size):
            chunk = arr[i:i + batch_size]
            yield ImageBatch(chunk, [f"array[{j}]" for j in range(i, i + len(chunk))])
        return
    paths = resolve_paths(source)[start:]
    images, ids = [], []
    for path in paths:
        try:
            images.append(load_image(path, size, resize_short))
            ids.append(path)
        except ImageReadError as exc:
            skips.add(path, str(exc).split(": ", 1)[-1])
        if len(images) == batch_size:
            yield ImageBatch(np.stack(images), ids)
            images, ids = [], []
    if images:
        yield ImageBatch(np.stack(images), ids)


def load_images(source: ImageSource, size: int | tuple[int, int] = 224, resize_short: int | None = None,
                skips: SkipCounter | None = None) -> ImageBatch:
    """All images of a source in memory (for small sets; use :func:`iter_batches` for large ones)."""
    batches = list(iter_batches(source, size, 256, resize_short=resize_short, skips=skips))
    if not batches:
        h, w = (size, size) if isinstance(size, int) else size
        return ImageBatch(np.zeros((0, h, w, 3), np.float32), [])
    return ImageBatch(np.concatenate([b.images for b in batches]), sum((b.ids for b in batches), []))


def label_from_path(path: str) -> str | None:
    """The class a path names: a ``n01440764_...`` synset in the file name, else its folder name."""
    name = os.path.basename(path)
    match = _SYNSET.match(name)
    if match:
        return match.group(1)
    parent = os.path.basename(os.path.dirname(path))
    return parent or None


def class_image_paths(source: ImageSource, names: Sequence[str]) -> list[str]:
    """Images of one class: files whose synset prefix, or whose folder, matches one of ``names``.

    ``names`` are a class's synset and/or names (``n04251144``, ``snorkel``); matching ignores
    case and treats spaces and underscores alike.
    """
    def norm(text: str) -> str:
        return text.lower().replace(" ", "_")

    wanted = {norm(n) for n in names if n}
    found = []
    for path in resolve_paths(source):
        stem = os.path.splitext(os.path.basename(path))[0]
        match = _SYNSET.match(stem)
        keys = {norm(os.path.basename(os.path.dirname(path)))}
        if match:  # the synset is the identity (two ImageNet classes are called "crane")
            keys.add(match.group(1).lower())
        if keys & wanted:
            found.append(path)
    return found
