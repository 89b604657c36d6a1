"""Which input pixels drive a channel: plain and guided back-propagation, and the region a layer sees.

Guided back-propagation (Springenberg et al. 2015, the Deep Visualization Toolbox's "deconv"
column) passes a gradient through a ReLU only where both the input and the gradient are
positive; it is applied through the model's gradient-override hook, like the render loop's
redirected ReLU.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

GUIDED_RELU = "LucidAtlasGuidedRelu"
GUIDED_RELU6 = "LucidAtlasGuidedRelu6"


def _guided_relu_grad(op, grad):
    x = op.inputs[0]
    return tf.where(tf.logical_and(x > 0.0, grad > 0.0), grad, tf.zeros_like(grad))


def _guided_relu6_grad(op, grad):
    x = op.inputs[0]
    passes = tf.logical_and(tf.logical_and(x > 0.0, x < 6.0), grad > 0.0)
    return tf.where(passes, grad, tf.zeros_like(grad))


for _name, _fn in ((GUIDED_RELU, _guided_relu_grad), (GUIDED_RELU6, _guided_relu6_grad)):
    try:
        tf.RegisterGradient(_name)(_fn)
    except KeyError:  # already registered (module reloaded)
        pass

GUIDED_OVERRIDES = {"Relu": GUIDED_RELU, "Relu6": GUIDED_RELU6}


class ChannelGradients:
    """Gradients of one channel's total activation with respect to the input image, plain and guided.

    One traced function per (layer, guided) for any channel; images are [H, W, 3] in [0, 1].
    """

    def __init__(self, model):
        self.model = model
        self._fns: dict[tuple[str, bool], tf.types.experimental.GenericFunction] = {}

    def _fn(self, layer: str, guided: bool):
        key = (layer, guided)
        if key not in self._fns:
            overrides = GUIDED_OVERRIDES if guided else None

            @tf.function(reduce_retracing=True)
            def grad(image, channel):
                acts = self.model.activations(image[None], [layer], gradient_overrides=overrides)[layer]
                score = tf.reduce_sum(tf.gather(acts, channel, axis=-1))
                return tf.gradients(score, image)[0]

            self._fns[key] = grad
        return self._fns[key]

    def __call__(self, image: np.ndarray, layer: str, channel: int, guided: bool = False) -> np.ndarray:
        """d(sum of the channel's map)/d(image), [H, W, 3] float32."""
        self.model.check_channel(layer, channel)
        out = self._fn(layer, guided)(tf.constant(image, tf.float32), tf.constant(int(channel)))
        return np.zeros_like(image, np.float32) if out is None else out.numpy()


def gradient_picture(grad: np.ndarray, percentile: float = 99.0) -> np.ndarray:
    """A gradient shown as the paper shows it: gray is zero, contrast-stretched, [H, W, 3] in [0, 1]."""
    scale = np.percentile(np.abs(grad), percentile)
    return np.clip(0.5 + 0.5 * grad / max(float(scale), 1e-12), 0.0, 1.0).astype(np.float32)


def receptive_fraction(model, layer: str, size: int | None = None, mass: float = 0.8) -> float:
    """The side of the input region one position of ``layer`` mostly sees, as a fraction of the image side.

    Measured, not derived from the architecture (the effective receptive field): the smallest
    square around the centre position holding ``mass`` of the input gradient of that position's
    activations, on a gray image with a little noise.
    """
    h = size or model.image_shape[0]
    rng = np.random.default_rng(0)
    image = tf.constant(0.5 + 0.1 * rng.standard_normal((1, h, h, 3)), tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(image)
        acts = model.activations(image, [layer])[layer]
        if acts.shape.rank != 4:
            return 1.0
        cy, cx = acts.shape[1] // 2, acts.shape[2] // 2
        score = tf.reduce_sum(tf.abs(acts[:, cy, cx, :]))
    grad = tape.gradient(score, image)
    if grad is None:
        return 1.0
    weight = np.abs(grad.numpy()[0]).sum(-1)
    if weight.sum() <= 0:
        return 1.0
    ys, xs = np.indices(weight.shape)
    centre_y, centre_x = (cy + 0.5) * h / acts.shape[1], (cx + 0.5) * h / acts.shape[2]
    radius = np.maximum(np.abs(ys + 0.5 - centre_y), np.abs(xs + 0.5 - centre_x)).ravel()
    order = np.argsort(radius, kind="stable")
    reached = np.searchsorted(np.cumsum(weight.ravel()[order]) / weight.sum(), mass)
    return float(min(1.0, 2 * radius[order][min(reached, len(order) - 1)] / h))
