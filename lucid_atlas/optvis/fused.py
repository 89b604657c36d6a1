"""One XLA kernel for a small piece of element-wise work traced into a render step."""

from __future__ import annotations

from typing import Callable

import tensorflow as tf


def fused(fn: Callable) -> Callable:
    """``fn`` as one XLA kernel (forward, and backward when differentiated) while a graph is being
    traced; ``fn`` itself when called eagerly (there is no graph to fuse, and compiling would cost
    every call). Call it where ``fn`` is used, so each traced graph gets its own XLA function: one
    shared by graphs traced at once in several threads (the atlas's streams) breaks their gradients.
    """
    return fn if tf.executing_eagerly() else tf.function(fn, jit_compile=True)
