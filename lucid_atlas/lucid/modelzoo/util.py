"""Lucid's ``lucid.modelzoo.util``: labels and frozen graphs from files, and the metadata a Lucid
model graph carries in a string constant."""

from __future__ import annotations

import json

import tensorflow as tf

from ..misc.io.reading import read
from ..misc.tfutil import SESSIONS_ARE_GONE, forget_xy  # noqa: F401 - Lucid has forget_xy here too

METADATA_NODE_NAME = "lucid_metadata_json"
metadata_node_name = METADATA_NODE_NAME  # Lucid's spelling


def load_text_labels(labels_path: str) -> list[str]:
    """The lines of a labels text file (local path, gs:// or http(s) URL)."""
    return read(labels_path, encoding="utf-8").splitlines()


def load_graphdef(model_url: str, reset_device: bool = True) -> tf.compat.v1.GraphDef:
    """A frozen ``GraphDef`` from a binary ``.pb`` (local path or URL), devices cleared by default."""
    graph_def = tf.compat.v1.GraphDef.FromString(read(model_url))
    if reset_device:
        for node in graph_def.node:
            node.device = ""
    return graph_def


def frozen_default_graph_def(input_node_names, output_node_names):
    """Lucid froze the default session's graph here; TensorFlow 2 has none (raises, saying so).
    Export a Keras model with ``model.save`` and load it with ``lucid_atlas.models.from_keras``."""
    raise RuntimeError(SESSIONS_ARE_GONE + "; to share a model, save it with Keras (model.save('m.keras')) and "
                       "load it with lucid_atlas.models.from_keras('m.keras')")


def infuse_metadata(graph_def, info: dict) -> None:
    """Embed ``info`` (JSON-able) in ``graph_def`` as a string constant named ``lucid_metadata_json``."""
    node = graph_def.node.add()
    node.name = METADATA_NODE_NAME
    node.op = "Const"
    node.attr["dtype"].type = tf.string.as_datatype_enum
    tensor = tf.make_tensor_proto(json.dumps(info).encode("utf-8"), dtype=tf.string)
    node.attr["value"].tensor.CopyFrom(tensor)


def extract_metadata(graph_def):
    """The metadata :func:`infuse_metadata` embedded in ``graph_def``, or None when it has none."""
    matches = [n for n in graph_def.node if n.name == METADATA_NODE_NAME]
    if not matches:
        return None
    if len(matches) > 1:
        raise ValueError(f"the graph has {len(matches)} '{METADATA_NODE_NAME}' nodes; expected one")
    return json.loads(matches[0].attr["value"].tensor.string_val[0])
