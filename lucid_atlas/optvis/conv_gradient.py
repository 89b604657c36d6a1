"""A faster input gradient for 1×1 convolutions, registered with TensorFlow.

A 1×1, stride-1 convolution is a matrix product over channels, so its input gradient is the
output gradient times the transposed kernel. On CPU one ``MatMul`` does that faster than
TensorFlow's ``Conv2DBackpropInput`` (oneDNN) for the small maps feature visualization uses:
EfficientNet-Lite0's forward+backward to ``block9_expanded`` took 1.16× less time at 128 px,
1.14× at 224 px and 1.05× at batch 32, 94 px (stock vs this gradient in alternating chunks of
steps, both threads per op; no gain with one thread per op: docs/studies.md). The result equals
the stock gradient up to float rounding. Any other convolution keeps TensorFlow's own gradient.
``CONV_OVERRIDES`` maps the op type to the registered gradient (applied through the models'
``gradient_overrides``, as the redirected ReLU is).
"""

from __future__ import annotations

import tensorflow as tf
from tensorflow.python.ops import nn_grad  # TensorFlow's own Conv2D gradient, for every other case

POINTWISE_CONV2D = "LucidAtlasPointwiseConv2D"


def _is_pointwise(op) -> bool:
    """A 1×1, stride-1, dilation-1, unpadded NHWC convolution: a matrix product over channels."""
    kernel = op.inputs[1].shape
    if kernel.rank != 4 or kernel[0] != 1 or kernel[1] != 1 or kernel[2] is None or kernel[3] is None:
        return False
    if op.get_attr("data_format") not in (b"NHWC", "NHWC"):
        return False
    if list(op.get_attr("strides")) != [1, 1, 1, 1] or list(op.get_attr("dilations")) != [1, 1, 1, 1]:
        return False
    padding = op.get_attr("padding")
    return padding not in (b"EXPLICIT", "EXPLICIT") or not any(op.get_attr("explicit_paddings"))


def _pointwise_conv2d_grad(op, grad):
    """Input gradient as ``grad @ kernelᵀ``; the kernel's gradient as TensorFlow computes it."""
    if not _is_pointwise(op):
        return nn_grad._Conv2DGrad(op, grad)
    x, kernel = op.inputs
    depth_in, depth_out = int(kernel.shape[2]), int(kernel.shape[3])
    flat = tf.matmul(tf.reshape(grad, [-1, depth_out]), tf.reshape(kernel, [depth_in, depth_out]),
                     transpose_b=True)
    grad_x = tf.reshape(flat, tf.concat([tf.shape(grad)[:3], [depth_in]], 0))
    grad_kernel = tf.raw_ops.Conv2DBackpropFilter(  # pruned from the graph when unused, as in renders
        input=x, filter_sizes=tf.shape(kernel), out_backprop=grad, strides=[1, 1, 1, 1],
        padding=op.get_attr("padding"), explicit_paddings=op.get_attr("explicit_paddings"),
        data_format="NHWC", dilations=[1, 1, 1, 1])
    return grad_x, grad_kernel


def _register_gradient() -> None:
    try:
        tf.RegisterGradient(POINTWISE_CONV2D)(_pointwise_conv2d_grad)
    except KeyError:  # already registered (module reloaded)
        pass


_register_gradient()
CONV_OVERRIDES = {"Conv2D": POINTWISE_CONV2D}
