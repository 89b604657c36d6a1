"""Frozen TensorFlow graphs (Lucid's InceptionV1 .pb, frozen SavedModels, TF-Hub) as VisionModels.

A frozen GraphDef is imported inside ``tf.compat.v1.wrap_function`` with the model input
mapped to our preprocessed batch, so the activations of any op are ordinary eager tensors
whose gradients flow back to the image: no sessions, no global graph.
"""

from __future__ import annotations

import os
from typing import Callable, Sequence

import tensorflow as tf

from .base import LayerInfo, ModelError, VisionModel

# Op types that make sensible visualization targets in an arbitrary graph.
LAYER_OP_TYPES = frozenset({
    "Relu", "Relu6", "Elu", "Selu", "LeakyRelu", "Tanh", "Sigmoid", "Softmax",
    "Concat", "ConcatV2", "Add", "AddV2", "AddN", "BiasAdd", "Conv2D", "DepthwiseConv2dNative",
    "FusedBatchNorm", "FusedBatchNormV3", "MaxPool", "AvgPool", "Mean", "MatMul", "Mul",
})
PRE_RELU_SUFFIX = "_pre_relu"


def _tensor_name(name: str) -> str:
    return name if ":" in name else name + ":0"


def _op_name(name: str) -> str:
    return name.split(":")[0]


def read_graph_def(path_or_def) -> tf.compat.v1.GraphDef:
    """A GraphDef from a ``.pb`` path (any gfile filesystem) or an existing proto."""
    if isinstance(path_or_def, tf.compat.v1.GraphDef):
        return path_or_def
    path = os.fspath(path_or_def)
    if not tf.io.gfile.exists(path):
        raise ModelError(f"no frozen graph at '{path}'")
    graph_def = tf.compat.v1.GraphDef()
    with tf.io.gfile.GFile(path, "rb") as f:
        try:
            graph_def.ParseFromString(f.read())
        except Exception as exc:  # protobuf's DecodeError, without importing protobuf
            raise ModelError(f"'{path}' is not a frozen TensorFlow GraphDef (.pb): {exc}") from None
    return graph_def


def _pre_relu_concat(graph: tf.Graph, op_name: str) -> tf.Tensor:
    """Lucid's ``mixedXX_pre_relu``: the concat of each tower's input to its final ReLU."""
    concat = graph.get_operation_by_name(op_name)
    towers = [t for t in concat.inputs if t.dtype.is_floating and t.shape.rank != 0]
    pre = [t.op.inputs[0] if t.op.type in ("Relu", "Relu6") else t for t in towers]
    return tf.concat(pre, -1)


def _resolve(graph: tf.Graph, scope: str, name: str) -> tf.Tensor:
    full = f"{scope}/{_op_name(name)}"
    try:
        return graph.get_tensor_by_name(f"{scope}/{_tensor_name(name)}")
    except KeyError:
        pass
    if name.endswith(PRE_RELU_SUFFIX):
        base = full[: -len(PRE_RELU_SUFFIX)]
        op = graph.get_operation_by_name(base)
        if "Concat" in op.type:
            return _pre_relu_concat(graph, base)
        if op.type in ("Relu", "Relu6"):
            return op.inputs[0]
    raise KeyError(name)


def _graph_reader(graph_def, input_name: str, aliases: dict[str, str] | None = None
                  ) -> Callable[..., list[tf.Tensor]]:
    cache: dict[tuple, Callable] = {}
    aliases = aliases or {}

    def build(names: tuple[str, ...], overrides: dict) -> Callable:
        def imported(x):
            graph = tf.compat.v1.get_default_graph()
            with graph.gradient_override_map(overrides):
                tf.compat.v1.import_graph_def(graph_def, input_map={_tensor_name(input_name): x},
                                              name="import")
                return [_resolve(graph, "import", aliases.get(n, n)) for n in names]

        spec = tf.TensorSpec([None, None, None, 3], tf.float32)
        return tf.compat.v1.wrap_function(imported, [spec])

    def read(x: tf.Tensor, names: tuple[str, ...], overrides: dict | None = None) -> list[tf.Tensor]:
        if not tf.executing_eagerly():
            # Inside a tf.function: import the ops inline, so gradients also flow between layers
            # (e.g. logits w.r.t. mixed4c for attribution); unused ops are pruned by the runtime.
            graph = tf.compat.v1.get_default_graph()
            with graph.gradient_override_map(dict(overrides or {})), graph.name_scope(None):
                scope = graph.unique_name("import", mark_as_used=False)
                tf.compat.v1.import_graph_def(graph_def, input_map={_tensor_name(input_name): x}, name=scope)
                return [_resolve(graph, scope, aliases.get(n, n)) for n in names]
        key = (names, tuple(sorted((overrides or {}).items())))
        fn = cache.get(key)
        if fn is None:
            fn = cache[key] = build(names, dict(overrides or {}))
        return list(fn(x))

    return read


def _tail_reader(graph_def, aliases: dict[str, str], logits_layer: str | None) -> Callable:
    """``tail(maps, layer)``: the logits computed from given activations of ``layer`` (fed in place of
    that tensor), e.g. to name the classes of published activation vectors."""
    compiled: dict[str, Callable] = {}  # one traced function per layer, reused for every batch

    def build(layer: str) -> Callable:
        @tf.function(reduce_retracing=True)
        def run(m):
            graph = tf.compat.v1.get_default_graph()
            with graph.name_scope(None):
                scope = graph.unique_name("tail", mark_as_used=False)
                tf.compat.v1.import_graph_def(graph_def, input_map={_tensor_name(aliases.get(layer, layer)): m},
                                              name=scope)
                return _resolve(graph, scope, aliases.get(logits_layer, logits_layer))
        return run

    def tail(maps: tf.Tensor, layer: str) -> tf.Tensor:
        if logits_layer is None:
            raise ModelError("this graph has no logits layer")
        run = compiled.get(layer) or compiled.setdefault(layer, build(layer))
        try:
            return run(tf.convert_to_tensor(maps, tf.float32))
        except (ValueError, KeyError) as exc:
            raise ModelError(f"cannot feed layer '{layer}' in place of its tensor ({exc.__class__.__name__}); "
                             "use a layer that is a real graph tensor (not a *_pre_relu concat)") from None
    return tail


def static_shapes(graph_def, input_name: str, image_shape: Sequence[int],
                  names: Sequence[str] | None = None) -> dict[str, tuple]:
    """Static output shapes of ops (or of the given layer names) for a batch of one image."""
    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [1, *image_shape], name="probe_input")
        tf.compat.v1.import_graph_def(graph_def, input_map={_tensor_name(input_name): x}, name="import")
        if names is None:
            return {op.name[len("import/"):]: tuple(op.outputs[0].shape.as_list())
                    for op in graph.get_operations()
                    if op.name.startswith("import/") and op.outputs
                    and op.outputs[0].shape.rank is not None}
        shapes = {}
        for n in names:
            try:
                shapes[n] = tuple(_resolve(graph, "import", n).shape.as_list())
            except KeyError:
                continue
        return shapes


def discover_layers(graph_def, input_name: str, image_shape: Sequence[int],
                    logits_layer: str | None = None) -> tuple[LayerInfo, ...]:
    """Every op of a visualizable type with an NHWC or (N, C) float output, in graph order."""
    types = {n.name: n.op for n in graph_def.node}
    shapes = static_shapes(graph_def, input_name, image_shape)
    found = []
    for node in graph_def.node:
        shape = shapes.get(node.name)
        if types[node.name] not in LAYER_OP_TYPES or not shape or len(shape) not in (2, 4):
            continue
        if shape[-1] is None or shape[0] not in (1, None):
            continue
        if node.name == logits_layer:
            kind = "logits"
        elif types[node.name] == "Softmax":
            kind = "probs"
        else:
            kind = "conv" if len(shape) == 4 else "dense"
        found.append(LayerInfo(node.name, int(shape[-1]), kind, types[node.name]))
    return tuple(found)


def _shorten(layers: Sequence[LayerInfo], logits_layer: str | None):
    """Layers renamed without their shared scope prefix, the logits name, and short→op aliases."""
    parts = [l.name.split("/") for l in layers]
    prefix = 0
    while parts and all(len(p) > prefix + 1 for p in parts) and len({p[prefix] for p in parts}) == 1:
        prefix += 1
    if prefix == 0:
        return tuple(layers), logits_layer, {}
    aliases = {"/".join(p[prefix:]): l.name for p, l in zip(parts, layers)}
    renamed = tuple(LayerInfo("/".join(p[prefix:]), l.depth, l.kind, l.description)
                    for p, l in zip(parts, layers))
    short_logits = next((k for k, v in aliases.items() if v == logits_layer), logits_layer)
    return renamed, short_logits, aliases


def from_graph_def(
    graph_def,
    input_name: str = "input",
    *, image_shape: Sequence[int] = (224, 224, 3),
    value_range: tuple[float, float] = (0.0, 1.0),
    layers: Sequence[LayerInfo] | None = None,
    labels: Sequence[str] | None = None,
    logits_layer: str | None = None,
    name: str = "graph",
    synsets: Sequence[str] = (),
    info: dict | None = None,
    short_names: bool = True,
) -> VisionModel:
    """Wrap a frozen GraphDef (proto or ``.pb`` path) whose input takes NHWC images in ``value_range``.

    ``short_names`` drops the scope prefix that all discovered layers share (such as
    ``StatefulPartitionedCall/...`` in frozen SavedModels) from the names users type.
    """
    graph_def = read_graph_def(graph_def)
    node_names = {n.name for n in graph_def.node}
    if _op_name(input_name) not in node_names:
        placeholders = [n.name for n in graph_def.node if n.op == "Placeholder"]
        raise ModelError(f"graph has no input '{input_name}'; its placeholders are: {placeholders}")
    aliases: dict[str, str] = {}
    if logits_layer is None and layers is None:
        logits_layer = _softmax_input(graph_def)
    if layers is None:
        layers = discover_layers(graph_def, input_name, image_shape, logits_layer)
        if short_names:
            layers, logits_layer, aliases = _shorten(layers, logits_layer)
    lo, hi = (float(v) for v in value_range)
    n_classes = next((l.depth for l in layers if l.name == logits_layer), 0)

    def preprocess(x: tf.Tensor) -> tf.Tensor:
        return x * (hi - lo) + lo

    return VisionModel(
        name=name,
        layers=tuple(layers),
        image_shape=tuple(int(s) for s in image_shape),
        value_range=(lo, hi),
        labels=tuple(labels) if labels is not None else tuple(f"class {i}" for i in range(n_classes)),
        preprocess=preprocess,
        activations_fn=_graph_reader(graph_def, input_name, aliases),
        logits_layer=logits_layer,
        synsets=tuple(synsets),
        info={"graph_def": graph_def, "tail_fn": _tail_reader(graph_def, aliases, logits_layer), **(info or {})},
    )


# ---- Lucid's InceptionV1 ------------------------------------------------------------------------

INCEPTION_V1_URL = "https://storage.googleapis.com/modelzoo/vision/other_models/InceptionV1.pb"
INCEPTION_V1_LABELS_URL = "https://storage.googleapis.com/modelzoo/labels/ImageNet_alternate.txt"
INCEPTION_V1_SYNSETS_URL = "https://storage.googleapis.com/modelzoo/labels/ImageNet_alternate_synsets.txt"
INCEPTION_V1_LAYERS = (  # Lucid's names and depths
    ("conv2d0", 64, "conv"), ("conv2d1", 64, "conv"), ("conv2d2", 192, "conv"),
    ("mixed3a", 256, "conv"), ("mixed3b", 480, "conv"), ("mixed4a", 508, "conv"),
    ("mixed4b", 512, "conv"), ("mixed4c", 512, "conv"), ("mixed4d", 528, "conv"),
    ("mixed4e", 832, "conv"), ("mixed5a", 832, "conv"), ("mixed5b", 1024, "conv"),
    ("head0_bottleneck", 128, "conv"), ("nn0", 1024, "dense"), ("softmax0", 1008, "probs"),
    ("head1_bottleneck", 128, "conv"), ("nn1", 1024, "dense"), ("softmax1", 1008, "probs"),
    ("softmax2", 1008, "probs"),
)
_PRE_RELU_OF = ("conv2d0", "conv2d1", "conv2d2", "mixed3a", "mixed3b", "mixed4a", "mixed4b",
                "mixed4c", "mixed4d", "mixed4e", "mixed5a", "mixed5b")


def _read_lines(path: str) -> tuple[str, ...]:
    with tf.io.gfile.GFile(path, "r") as f:
        return tuple(line.strip() for line in f if line.strip())


def _softmax_input(graph_def) -> str | None:
    """The op feeding the graph's last Softmax: its logits, when it has one."""
    softmaxes = [n for n in graph_def.node if n.op == "Softmax" and n.input]
    return _op_name(softmaxes[-1].input[0]) if softmaxes else None


def _logits_op(graph_def) -> str | None:
    nodes = {n.name: n for n in graph_def.node}
    if "softmax2_pre_activation" in nodes:
        return "softmax2_pre_activation"
    if "softmax2" in nodes and nodes["softmax2"].input:
        return _op_name(nodes["softmax2"].input[0])
    return None


def inception_v1_layers(graph_def) -> tuple[LayerInfo, ...]:
    """Lucid's InceptionV1 layers present in the graph, with ``*_pre_relu`` and the logits."""
    logits = _logits_op(graph_def)
    wanted: list[tuple[str, int, str]] = []
    for lname, depth, kind in INCEPTION_V1_LAYERS:
        if lname in _PRE_RELU_OF:
            wanted.append((lname + PRE_RELU_SUFFIX, depth, kind))
        wanted.append((lname, depth, kind))
        if lname == "softmax2" and logits:
            wanted.insert(len(wanted) - 1, (logits, depth, "logits"))
    shapes = static_shapes(graph_def, "input", (224, 224, 3), [w[0] for w in wanted])
    layers = []
    for lname, lucid_depth, kind in wanted:
        if lname not in shapes:
            continue
        depth = shapes[lname][-1] or lucid_depth
        layers.append(LayerInfo(lname, int(depth), kind, "Lucid InceptionV1"))
    return tuple(layers)


def load_inception_v1(path: str | None = None, labels_path: str | None = None,
                      cache_dir: str | None = None, labels: Sequence[str] | None = None) -> VisionModel:
    """Lucid's InceptionV1 (GoogLeNet) from its frozen graph: downloaded once, or a local ``path``."""
    from ..io import storage

    path = path or storage.fetch(INCEPTION_V1_URL, "InceptionV1.pb", cache_dir)
    graph_def = read_graph_def(path)
    synsets: tuple[str, ...] = ()
    if labels is None:
        labels = _read_lines(labels_path or storage.fetch(INCEPTION_V1_LABELS_URL,
                                                         "InceptionV1-labels.txt", cache_dir))
        if labels_path is None:
            try:
                synsets = _read_lines(storage.fetch(INCEPTION_V1_SYNSETS_URL,
                                                    "InceptionV1-synsets.txt", cache_dir))
            except storage.DownloadError:
                synsets = ()
    return from_graph_def(
        graph_def, input_name="input", image_shape=(224, 224, 3), value_range=(-117.0, 138.0),
        layers=inception_v1_layers(graph_def), labels=labels, logits_layer=_logits_op(graph_def),
        name="inception_v1", synsets=synsets,
        info={"source": path, "visual_layers": [n for n, _, _ in INCEPTION_V1_LAYERS[:12]]},
    )


# ---- SavedModel and TF-Hub, frozen into a GraphDef ----------------------------------------------


def freeze_concrete_function(fn) -> tuple[tf.compat.v1.GraphDef, str, str]:
    """Freeze a single-image-input concrete function: (graph_def, input op name, output op name)."""
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    frozen = convert_variables_to_constants_v2(fn)
    graph_def = frozen.graph.as_graph_def()
    images = [t for t in frozen.inputs if t.dtype.is_floating and t.shape.rank == 4]
    if not images:
        raise ModelError("the model's signature has no float NHWC image input")
    outputs = [t for t in frozen.outputs if t.shape.rank == 2] or list(frozen.outputs)
    return graph_def, _op_name(images[0].name), _op_name(outputs[0].name)


def _concrete_function(obj, image_shape: Sequence[int], signature: str | None):
    sigs = getattr(obj, "signatures", {}) or {}
    if signature:
        if signature not in sigs:
            raise ModelError(f"no signature '{signature}'; available: {list(sigs)}")
        return sigs[signature]
    if callable(obj):
        spec = tf.TensorSpec([None, *image_shape], tf.float32)
        return tf.function(lambda x: obj(x)).get_concrete_function(spec)
    if sigs:
        return next(iter(sigs.values()))
    raise ModelError("the SavedModel is neither callable nor has signatures")


def _logits_from_output(graph_def, output: str) -> str:
    nodes = {n.name: n for n in graph_def.node}
    node = nodes.get(output)
    while node is not None and node.op in ("Identity", "Softmax") and node.input:
        node = nodes.get(_op_name(node.input[0]))
    return node.name if node is not None else output


def from_saved_model(obj_or_path, image_shape: Sequence[int] = (224, 224, 3),
                     *, value_range: tuple[float, float] = (0.0, 1.0), labels: Sequence[str] | None = None,
                     signature: str | None = None, name: str | None = None) -> VisionModel:
    """A TF SavedModel (path or loaded object) frozen into a graph so every op is a layer."""
    path = None
    if isinstance(obj_or_path, (str, os.PathLike)):
        path = os.fspath(obj_or_path)
        if not tf.io.gfile.exists(os.path.join(path, "saved_model.pb")):
            raise ModelError(f"'{path}' is not a SavedModel directory (no saved_model.pb)")
        obj_or_path = tf.saved_model.load(path)
    fn = _concrete_function(obj_or_path, image_shape, signature)
    graph_def, input_op, output_op = freeze_concrete_function(fn)
    logits = _logits_from_output(graph_def, output_op)
    model_name = name or (os.path.basename(os.path.normpath(path)) if path else "saved_model")
    return from_graph_def(graph_def, input_name=input_op, image_shape=image_shape,
                          value_range=value_range, labels=labels, logits_layer=logits,
                          name=model_name, info={"source": path})


def from_hub(handle: str, image_shape: Sequence[int] = (224, 224, 3),
             value_range: tuple[float, float] = (0.0, 1.0), labels: Sequence[str] | None = None,
             name: str | None = None) -> VisionModel:
    """A TF-Hub image model (URL or local path, via ``hub.load``); TF-Hub's convention is [0, 1]."""
    try:
        import tensorflow_hub as hub
    except ImportError:
        raise ModelError("TF-Hub models need tensorflow-hub: pip install tensorflow-hub") from None
    try:
        obj = hub.load(handle)
    except Exception as exc:
        raise ModelError(f"could not load TF-Hub model '{handle}' ({exc.__class__.__name__}: {exc}). "
                         "Offline? Download and extract it, then pass the local folder.") from None
    parts = [p for p in handle.rstrip("/").split("/") if p and not p.isdigit()]
    return from_saved_model(obj, image_shape, value_range=value_range, labels=labels, name=name or parts[-1])

