"""Faster input gradients for two kinds of convolution, registered with TensorFlow.

* A 1×1, stride-1 convolution is a matrix product over channels, so its input gradient is the
  output gradient times the transposed kernel. On CPU one ``MatMul`` does that faster than
  TensorFlow's ``Conv2DBackpropInput`` (oneDNN) for the small maps feature visualization uses:
  EfficientNet-Lite0's forward+backward to ``block9_expanded`` took 1.16× less time at 128 px,
  1.14× at 224 px and 1.05× at batch 32, 94 px (stock vs this gradient in alternating chunks of
  steps, both threads per op; no gain with one thread per op: docs/studies.md).
* A convolution of the image itself (at most 4 input channels: gray, RGB, RGBA, e.g. a stem's
  3×3, stride 2) has an input gradient that oneDNN computes slowly for so few channels: here it
  is a ``MatMul`` into patch columns, ``grad @ kernelᵀ``, and one XLA kernel that adds the
  overlapping patches back onto the image grid (at batch 32, 94 px: 1.9 ms instead of 4.8).

Both equal the stock gradient up to float rounding. Any other convolution keeps TensorFlow's
own gradient. ``CONV_OVERRIDES`` maps the op type to the registered gradient (applied through
the models' ``gradient_overrides``, as the redirected ReLU is).
"""

from __future__ import annotations

import tensorflow as tf
from tensorflow.python.ops import nn_grad  # TensorFlow's own Conv2D gradient, for every other case

from .fused import fused

CONV2D_GRADIENT = "LucidAtlasConv2D"


def _ungrouped(op) -> bool:
    """The kernel reads every input channel (a grouped convolution's kernel reads a group's)."""
    x, kernel = op.inputs
    return x.shape.rank == 4 and kernel.shape.rank == 4 and x.shape[3] is not None and x.shape[3] == kernel.shape[2]


def _is_pointwise(op) -> bool:
    """A 1×1, stride-1, dilation-1, unpadded, ungrouped NHWC convolution: a matrix product over channels."""
    kernel = op.inputs[1].shape
    if kernel.rank != 4 or kernel[0] != 1 or kernel[1] != 1 or kernel[2] is None or kernel[3] is None:
        return False
    if not _ungrouped(op):
        return False
    if op.get_attr("data_format") not in (b"NHWC", "NHWC"):
        return False
    if list(op.get_attr("strides")) != [1, 1, 1, 1] or list(op.get_attr("dilations")) != [1, 1, 1, 1]:
        return False
    padding = op.get_attr("padding")
    return padding not in (b"EXPLICIT", "EXPLICIT") or not any(op.get_attr("explicit_paddings"))


MAX_IMAGE_CHANNELS = 4  # gray, RGB, RGBA: the convolutions that see the image itself


def _is_image_conv(op, grad) -> bool:
    """An ungrouped NHWC convolution (dilation 1, SAME or VALID, square strides) of at most
    ``MAX_IMAGE_CHANNELS`` channels, whose input and output sizes are known when traced."""
    x, kernel = op.inputs
    if not (kernel.shape.is_fully_defined() and x.shape[1:3].is_fully_defined() and grad.shape[1:3].is_fully_defined()):
        return False
    if not _ungrouped(op):
        return False
    strides = list(op.get_attr("strides"))
    padding = op.get_attr("padding")
    padding = padding.decode() if isinstance(padding, bytes) else padding
    return (kernel.shape[2] <= MAX_IMAGE_CHANNELS and op.get_attr("data_format") in (b"NHWC", "NHWC")
            and list(op.get_attr("dilations")) == [1, 1, 1, 1] and padding in ("SAME", "VALID")
            and strides[0] == strides[3] == 1 and strides[1] == strides[2])


def _times_kernel_t(grad: tf.Tensor, kernel: tf.Tensor) -> tf.Tensor:
    """Every output pixel's gradient times the transposed kernel [kh, kw, in, out]: [pixels, kh·kw·in]."""
    depth_out = int(kernel.shape[3])
    return tf.matmul(tf.reshape(grad, [-1, depth_out]), tf.reshape(kernel, [-1, depth_out]), transpose_b=True)


def _leading_pad(size: int, out: int, stride: int, k: int, same: bool) -> int:
    """Rows (or columns) TensorFlow pads before the input for this convolution."""
    return max((out - 1) * stride + k - size, 0) // 2 if same else 0


def _tap_offsets(k: int, lead: int, stride: int) -> list[tuple[int, int]]:
    """Kernel tap t reads input row ``stride·i + t − lead`` for output row i: as (phase, shift)
    with that row = ``stride·(i + shift) + phase``, 0 ≤ phase < stride."""
    return [((t - lead) % stride, (t - lead - (t - lead) % stride) // stride) for t in range(k)]


def overlap_add(cols: tf.Tensor, image_hw: tuple[int, int], kernel_hw: tuple[int, int], stride: int,
                lead: tuple[int, int]) -> tf.Tensor:
    """Patch columns [B, OH, OW, kh·kw, C] (one per output pixel and kernel tap) summed back onto the
    image grid [B, H, W, C]: the transpose of a convolution's patch extraction."""
    (h, w), (kh, kw) = image_hw, kernel_hw
    depth = cols.shape[4]
    rows, columns = _tap_offsets(kh, lead[0], stride), _tap_offsets(kw, lead[1], stride)
    lo_r, hi_r = min(q for _, q in rows), max(q for _, q in rows)
    lo_c, hi_c = min(q for _, q in columns), max(q for _, q in columns)
    phases: dict[tuple[int, int], tf.Tensor] = {}
    for ty, (py, qy) in enumerate(rows):
        for tx, (px, qx) in enumerate(columns):
            shifts = [[0, 0], [qy - lo_r, hi_r - qy], [qx - lo_c, hi_c - qx], [0, 0]]
            tap = tf.pad(cols[:, :, :, ty * kw + tx, :], shifts)
            phases[py, px] = phases[py, px] + tap if (py, px) in phases else tap
    blank = tf.zeros_like(next(iter(phases.values())))
    grid = tf.concat([phases.get((py, px), blank) for py in range(stride) for px in range(stride)], -1)
    canvas = tf.nn.depth_to_space(grid, stride) if stride > 1 else grid  # row r is image row r + stride·lo_r
    top, left = -stride * lo_r, -stride * lo_c
    canvas = tf.pad(canvas, [[0, 0], [max(0, -top), max(0, top + h - canvas.shape[1])],
                             [max(0, -left), max(0, left + w - canvas.shape[2])], [0, 0]])
    top, left = max(0, top), max(0, left)
    return tf.reshape(canvas[:, top:top + h, left:left + w, :], [-1, h, w, depth])


def _image_conv_input_grad(op, grad) -> tf.Tensor:
    """The input gradient of an image convolution: ``grad @ kernelᵀ`` into patch columns (a
    MatMul), then :func:`overlap_add` as one XLA kernel (:func:`~lucid_atlas.optvis.fused.fused`)."""
    x, kernel = op.inputs
    kh, kw, depth_in, _ = (int(d) for d in kernel.shape)
    stride = int(op.get_attr("strides")[1])
    same = op.get_attr("padding") in (b"SAME", "SAME")
    (h, w), (out_h, out_w) = x.shape[1:3], grad.shape[1:3]
    lead = (_leading_pad(h, out_h, stride, kh, same), _leading_pad(w, out_w, stride, kw, same))
    cols = tf.reshape(_times_kernel_t(grad, kernel), [-1, out_h, out_w, kh * kw, depth_in])
    return fused(lambda cols: overlap_add(cols, (h, w), (kh, kw), stride, lead))(cols)


def _pointwise_input_grad(op, grad) -> tf.Tensor:
    """The input gradient of a 1×1, stride-1 convolution: ``grad @ kernelᵀ`` (one MatMul)."""
    kernel = op.inputs[1]
    return tf.reshape(_times_kernel_t(grad, kernel), tf.concat([tf.shape(grad)[:3], [int(kernel.shape[2])]], 0))


def _conv2d_grad(op, grad):
    """The input gradient by one of the faster rules above where it applies (else TensorFlow's
    whole gradient); the kernel's gradient as TensorFlow computes it."""
    if _is_pointwise(op):
        grad_x = _pointwise_input_grad(op, grad)
    elif _is_image_conv(op, grad):
        grad_x = _image_conv_input_grad(op, grad)
    else:
        return nn_grad._Conv2DGrad(op, grad)
    x, kernel = op.inputs
    grad_kernel = tf.raw_ops.Conv2DBackpropFilter(  # pruned from the graph when unused, as in renders
        input=x, filter_sizes=tf.shape(kernel), out_backprop=grad, strides=op.get_attr("strides"),
        padding=op.get_attr("padding"), explicit_paddings=op.get_attr("explicit_paddings"),
        data_format="NHWC", dilations=op.get_attr("dilations"))
    return grad_x, grad_kernel


def _register_gradient() -> None:
    try:
        tf.RegisterGradient(CONV2D_GRADIENT)(_conv2d_grad)
    except KeyError:  # already registered (module reloaded)
        pass


_register_gradient()
CONV_OVERRIDES = {"Conv2D": CONV2D_GRADIENT}
