"""Tiny frozen graphs and SavedModels that tests build themselves (no downloads)."""

from __future__ import annotations

import numpy as np
import tensorflow as tf


def lucid_like_graph_def(seed: int = 0) -> tf.compat.v1.GraphDef:
    """A frozen GraphDef with Lucid InceptionV1's op names, input and output structure, tiny depths."""
    rng = np.random.default_rng(seed)

    def const(*shape):
        return tf.constant(rng.normal(scale=0.5, size=shape).astype(np.float32))

    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [None, None, None, 3], name="input")
        c = tf.nn.conv2d(x / 128.0, const(3, 3, 3, 8), 2, "SAME", name="conv2d0_pre_relu/conv")
        c = tf.nn.bias_add(c, const(8), name="conv2d0_pre_relu")
        c = tf.nn.relu(c, name="conv2d0")
        t1 = tf.nn.relu(tf.nn.bias_add(tf.nn.conv2d(c, const(1, 1, 8, 4), 1, "SAME"), const(4),
                                       name="mixed3a_1x1_pre_relu"), name="mixed3a_1x1")
        t2 = tf.nn.relu(tf.nn.bias_add(tf.nn.conv2d(c, const(3, 3, 8, 6), 1, "SAME"), const(6),
                                       name="mixed3a_3x3_pre_relu"), name="mixed3a_3x3")
        m = tf.concat([t1, t2], -1, name="mixed3a")
        pooled = tf.reduce_mean(m, [1, 2], name="avgpool0")
        logits = tf.nn.bias_add(tf.matmul(pooled, const(10, 5), name="softmax2_pre_activation/matmul"),
                                const(5), name="softmax2_pre_activation")
        tf.nn.softmax(logits, name="softmax2")
    return graph.as_graph_def()


class TinyModule(tf.Module):
    """A small conv net with variables, savable as a SavedModel."""

    def __init__(self, seed: int = 0):
        super().__init__()
        rng = np.random.default_rng(seed)
        self.w1 = tf.Variable(rng.normal(size=(3, 3, 3, 6)).astype(np.float32))
        self.w2 = tf.Variable(rng.normal(size=(6, 4)).astype(np.float32))

    @tf.function(input_signature=[tf.TensorSpec([None, 32, 32, 3], tf.float32)])
    def __call__(self, x):
        h = tf.nn.relu(tf.nn.conv2d(x, self.w1, 1, "SAME"))
        return tf.nn.softmax(tf.matmul(tf.reduce_mean(h, [1, 2]), self.w2))
