#!/usr/bin/python3
"""Write a TF.js layers model as the files Keras 3 writes for it, without Keras (it cannot run here).

    /usr/bin/python3 tools/reference/keras3_files.py                 # every family under tests/fixtures/families
    /usr/bin/python3 tools/reference/keras3_files.py DIR [DIR ...]   # these TF.js model folders

For a folder holding model.json + its .bin shards (as families.js writes them) this writes, beside them:
  model.keras          the zip `model.save("model.keras")` writes: metadata.json, config.json, model.weights.h5,
                       entries stored (ZIP_STORED), as saving_lib writes them
  model.weights.h5     what `model.save_weights("model.weights.h5")` writes
  config.json          what `model.to_json()` returns (the same JSON as config.json inside model.keras)
and, for the families named in DEFLATED, model_deflated.keras: the same zip with deflated entries, which
Keras does not write but reads (zipfile decompresses), to test that path.

Everything follows the Keras sources at tag v3.15.1 (keras_version "3.15.1" in metadata.json); each part names
the file and function it follows. The sources were read from github.com/keras-team/keras:
  keras/src/saving/saving_lib.py        save_model, _save_model_to_fileobj, _serialize_model_as_json,
                                        save_weights_only, _save_state, _walk_saveable, _save_container_state,
                                        _get_unique_name, H5IOStore (make, _create_h5_group, __setitem__, close)
  keras/src/saving/serialization_lib.py serialize_keras_object, serialize_with_public_class, serialize_dict,
                                        get_build_and_compile_config (the `__keras_tensor__` form)
  keras/src/utils/naming.py             to_snake_case
  keras/src/models/functional.py        Functional.get_config, serialize_node, Functional.layers
  keras/src/models/sequential.py        Sequential.get_config, Sequential.layers, Sequential.build
  keras/src/ops/function.py             map_graph / _build_map (the order of model.layers)
  keras/src/layers/layer.py             Layer.get_config, get_build_config, __call__ / CallSpec /
                                        _resolve_and_populate_arg (the kwargs a node records),
                                        save_own_variables (trainable variables first, then non-trainable)
  and each layer class's get_config and build (cited where used).

The converter checks itself: its shape inference against the shapes TF.js inferred (reference.json
layer_output_shapes), its layer order against Keras' map_graph order, and, reading the .h5 back with h5py, that
every TF.js weight appears exactly once, with its shape and values, at the path and index Keras 3 uses.
"""

import copy
import io
import json
import re
import sys
import zipfile
from pathlib import Path

import h5py
import numpy as np

KERAS_VERSION = "3.15.1"
# saving_lib._serialize_model_as_json writes datetime.now(); a fixed date keeps the fixtures reproducible.
DATE_SAVED = "2025-06-10@12:00:00"
ZIP_DATE_TIME = (2025, 6, 10, 12, 0, 0)
HERE = Path(__file__).resolve().parent
FAMILIES = HERE.parent.parent / "tests" / "fixtures" / "families"
DEFLATED = {"sequential_cnn"}


def fail(msg):
    raise SystemExit(f"keras3_files: error: {msg}")


# ------------------------------------------------------------------------------------------- naming

def to_snake_case(name):
    """keras/src/utils/naming.py to_snake_case, verbatim."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    name = re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()
    return name


def get_unique_name(name, used_names):
    """keras/src/saving/saving_lib.py _get_unique_name: 'conv2d', 'conv2d_1', 'conv2d_2', ... per container."""
    if name in used_names:
        used_names[name] += 1
        return f"{name}_{used_names[name]}"
    used_names[name] = 0
    return name


# ------------------------------------------------------------------------------------------- TF.js model

def load_tfjs(folder):
    """model.json and its weights, as {name: ndarray} in manifest order (TF.js io: shards concatenated)."""
    model_json = json.loads((folder / "model.json").read_text())
    blob = b"".join((folder / p).read_bytes() for g in model_json["weightsManifest"] for p in g["paths"])
    weights, offset = {}, 0
    for group in model_json["weightsManifest"]:
        for spec in group["weights"]:
            dtype = {"float32": np.float32, "int32": np.int32}[spec["dtype"]]
            n = int(np.prod(spec["shape"], dtype=np.int64))
            arr = np.frombuffer(blob, dtype=dtype, count=n, offset=offset).reshape(spec["shape"])
            offset += n * 4
            if spec["name"] in weights:
                fail(f"weight {spec['name']} appears twice in the manifest")
            weights[spec["name"]] = arr
    if offset != len(blob):
        fail(f"{folder}: {len(blob) - offset} bytes of the .bin are not in the manifest")
    return model_json["modelTopology"], weights


class Node:
    """One layer of a TF.js topology, with what the conversion needs."""

    def __init__(self, entry, parent_kind):
        self.cls = entry["class_name"]
        self.cfg = entry["config"]
        self.name = self.cfg["name"] if "name" in self.cfg else entry["name"]
        self.inbound = entry.get("inbound_nodes", [])
        self.kind = parent_kind
        self.children = None                   # nested model: its Graph
        self.out_shape = None


class Graph:
    """A functional Model or a Sequential from a TF.js topology entry, nested models as Graphs."""

    def __init__(self, entry, path=""):
        self.cls = entry["class_name"]                          # 'Model' or 'Sequential'
        if self.cls not in ("Model", "Sequential"):
            fail(f"{path}: a model is class Model or Sequential, not {self.cls}")
        cfg = entry["config"]
        self.name = cfg["name"]
        self.path = path
        self.nodes = []
        for layer in cfg["layers"]:
            node = Node(layer, self.cls)
            if node.cls in ("Model", "Sequential"):
                node.children = Graph(layer, f"{path}{node.name}/")
            self.nodes.append(node)
        self.by_name = {n.name: n for n in self.nodes}
        if len(self.by_name) != len(self.nodes):
            fail(f"{path}: layer names are not unique")
        if self.cls == "Model":
            self.input_layers = cfg["input_layers"]
            self.output_layers = cfg["output_layers"]
            for n in self.nodes:
                if len(n.inbound) > 1:
                    fail(f"{path}{n.name}: a layer called more than once is not converted")
        else:
            first = self.nodes[0].cfg
            if "batch_input_shape" not in first:
                fail(f"{path}: the first layer of a Sequential must carry batch_input_shape")
            self.batch_input_shape = first["batch_input_shape"]

    def inputs_of(self, node):
        """(layer name, tensor index) of each input of a functional node, TF.js' [name, node, tensor, kwargs]."""
        if not node.inbound:
            return []
        return [(t[0], t[2]) for t in node.inbound[0]]

    def call_kwargs(self, node):
        """The kwargs TF.js recorded for the call (it stores them on each input entry)."""
        if not node.inbound:
            return {}
        kw = {}
        for t in node.inbound[0]:
            if len(t) > 3:
                kw.update(t[3])
        return kw


# ------------------------------------------------------------------------------------------- shapes

def conv_length(n, k, stride, padding, dilation=1):
    """keras/src/ops/operation_utils.py compute_conv_output_shape, one spatial axis."""
    k_eff = (k - 1) * dilation + 1
    if padding == "same":
        return -(-n // stride)
    return (n - k_eff) // stride + 1


def infer_shape(node, in_shapes):
    """The output shape of one layer (batch None), for the classes the families use."""
    c, cfg = node.cls, node.cfg
    s = in_shapes[0]
    if c in ("Conv2D", "DepthwiseConv2D", "SeparableConv2D", "MaxPooling2D", "AveragePooling2D"):
        k = cfg["pool_size"] if "pool_size" in cfg else cfg["kernel_size"]
        st, d = cfg["strides"], cfg.get("dilation_rate", [1, 1])
        h = conv_length(s[1], k[0], st[0], cfg["padding"], d[0])
        w = conv_length(s[2], k[1], st[1], cfg["padding"], d[1])
        ch = {"Conv2D": cfg.get("filters"), "SeparableConv2D": cfg.get("filters"),
              "DepthwiseConv2D": s[3] * cfg.get("depth_multiplier", 1)}.get(c, s[3])
        return [None, h, w, ch]
    if c == "ZeroPadding2D":
        (t, b), (l, r) = cfg["padding"]
        return [None, s[1] + t + b, s[2] + l + r, s[3]]
    if c == "GlobalAveragePooling2D":
        return [None, 1, 1, s[3]] if cfg.get("keepdims") else [None, s[3]]
    if c == "Dense":
        return s[:-1] + [cfg["units"]]
    if c == "Flatten":
        return [None, int(np.prod(s[1:]))]
    if c == "Reshape":
        return [None] + list(cfg["target_shape"])
    if c == "Concatenate":
        return s[:-1] + [sum(x[-1] for x in in_shapes)]
    if c in ("Add", "Multiply"):                              # broadcast, keras base_merge._compute_elemwise_op_output_shape
        return [None] + [max(x[i] for x in in_shapes) for i in range(1, len(s))]
    if c in ("BatchNormalization", "LayerNormalization", "Activation", "ReLU", "Dropout", "Rescaling",
             "Normalization"):
        return list(s)
    fail(f"no shape rule for {c}")


def infer_graph(graph, in_shapes):
    """Fill node.out_shape for every node (nested graphs too); return the graph's output shape."""
    if graph.cls == "Sequential":
        s = list(graph.batch_input_shape)
        for n in graph.nodes:
            s = infer_graph(n.children, [s]) if n.children else infer_shape(n, [s])
            n.out_shape = s
        return s
    values = {}
    for (name, _, _), shape in zip(graph.input_layers, in_shapes):
        values[name] = shape
    for n in graph.nodes:
        if n.cls == "InputLayer":
            n.out_shape = list(n.cfg["batch_input_shape"])
            if values.get(n.name, n.out_shape) != n.out_shape:
                fail(f"{n.name}: input shape mismatch")
            values[n.name] = n.out_shape
            continue
        ins = [values[name] for name, _ in graph.inputs_of(n)]
        n.out_shape = infer_graph(n.children, ins) if n.children else infer_shape(n, ins)
        values[n.name] = n.out_shape
    return values[graph.output_layers[0][0]]


def check_shapes(graph, expected, prefix=""):
    for n in graph.nodes:
        p = prefix + n.name
        if p in expected and list(expected[p]) != list(n.out_shape):
            fail(f"{p}: inferred shape {n.out_shape}, TF.js says {expected[p]}")
        if n.children:
            check_shapes(n.children, expected, p + "/")


# ------------------------------------------------------------------------------------------- layer order

def map_graph_order(graph):
    """keras/src/ops/function.py map_graph + _build_map: depth-first from the outputs records each operation's
    first-visit index; depth = longest path to an output; operations sorted by decreasing depth, ties by index."""
    produced = {n.name: n for n in graph.nodes}
    order_index, finished, in_order = {}, set(), []

    def visit(name):
        node = produced[name]
        if name in finished:
            return
        if name not in order_index:
            order_index[name] = len(order_index)
        for parent, _ in graph.inputs_of(node):
            visit(parent)
        finished.add(name)
        in_order.append(name)                                  # nodes_in_decreasing_depth (inputs first)

    for out in graph.output_layers:
        visit(out[0])
    depth = {}
    for name in reversed(in_order):
        d = depth.setdefault(name, 0)
        for parent, _ in graph.inputs_of(produced[name]):
            depth[parent] = max(depth.get(parent, 0), d + 1)
    names = sorted(depth, key=lambda n: (-depth[n], order_index[n]))
    return names


# ------------------------------------------------------------------------------------------- Keras 3 config

# serialize_keras_object(DTypePolicy("float32")): DTypePolicy is exported first as keras.DTypePolicy
# (keras/src/dtype_policies/dtype_policy.py), so serialize_with_public_class gives module "keras".
POLICY = {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": None}


def initializer(cls, **config):
    """serialize_keras_object of a built-in initializer: exported as keras.initializers.<cls>."""
    return {"module": "keras.initializers", "class_name": cls, "config": config, "registered_name": None}


# keras/src/initializers/random_initializers.py GlorotUniform.get_config; constant_initializers.py Zeros/Ones.
GLOROT = lambda: initializer("GlorotUniform", seed=None, input_axes=None, output_axes=None)  # noqa: E731
ZEROS = lambda: initializer("Zeros")                                                        # noqa: E731
ONES = lambda: initializer("Ones")                                                          # noqa: E731

# keras/src/activations/__init__.py serialize: a built-in activation is written as its function's __name__;
# activations.get("swish") is silu and activations.get("hard_swish") is hard_silu (ALL_OBJECTS_DICT aliases).
ACTIVATIONS = {"linear": "linear", "relu": "relu", "relu6": "relu6", "sigmoid": "sigmoid", "softmax": "softmax",
               "swish": "silu", "hard_swish": "hard_silu", "hard_sigmoid": "hard_sigmoid", "gelu": "gelu",
               "tanh": "tanh", "elu": "elu", "selu": "selu", "softplus": "softplus", "softsign": "softsign",
               "mish": "mish"}


def activation(name):
    if name not in ACTIVATIONS:
        fail(f"activation {name!r} has no Keras 3 name")
    return ACTIVATIONS[name]


def base_config(node):
    """keras/src/ops/operation.py Operation.get_config ({"name"}) + keras/src/layers/layer.py Layer.get_config."""
    return {"name": node.name, "trainable": node.cfg.get("trainable", True), "dtype": copy.deepcopy(POLICY)}


def layer_config(node, in_shapes):
    """(class_name, config, has_build) for one layer: each class's Keras 3 get_config, in its key order.
    has_build: the class overrides build(), so Layer.get_build_config records the input shape (layers whose
    build is Layer's default are built at init or by tracing and record none; keras/src/layers/layer.py
    _maybe_build and __new__'s build_wrapper)."""
    c, cfg = node.cls, node.cfg
    conf = base_config(node)
    if c == "Conv2D":                            # keras/src/layers/convolutional/base_conv.py get_config
        conf.update({"filters": cfg["filters"], "kernel_size": cfg["kernel_size"], "strides": cfg["strides"],
                     "padding": cfg["padding"], "data_format": cfg["data_format"],
                     "dilation_rate": cfg["dilation_rate"], "groups": cfg.get("groups", 1),
                     "activation": activation(cfg["activation"]), "use_bias": cfg["use_bias"],
                     "kernel_initializer": GLOROT(), "bias_initializer": ZEROS(), "kernel_regularizer": None,
                     "bias_regularizer": None, "activity_regularizer": None, "kernel_constraint": None,
                     "bias_constraint": None})
        return c, conf, True
    if c == "DepthwiseConv2D":                   # keras/src/layers/convolutional/base_depthwise_conv.py
        conf.update({"depth_multiplier": cfg["depth_multiplier"], "kernel_size": cfg["kernel_size"],
                     "strides": cfg["strides"], "padding": cfg["padding"], "data_format": cfg["data_format"],
                     "dilation_rate": cfg["dilation_rate"], "activation": activation(cfg["activation"]),
                     "use_bias": cfg["use_bias"], "depthwise_initializer": GLOROT(), "bias_initializer": ZEROS(),
                     "depthwise_regularizer": None, "bias_regularizer": None, "activity_regularizer": None,
                     "depthwise_constraint": None, "bias_constraint": None})
        return c, conf, True
    if c == "SeparableConv2D":                   # keras/src/layers/convolutional/base_separable_conv.py
        # TF.js 4.22 leaves depth_multiplier out of a SeparableConv2D config; it is 1 there.
        conf.update({"depth_multiplier": cfg.get("depth_multiplier", 1), "filters": cfg["filters"],
                     "kernel_size": cfg["kernel_size"], "strides": cfg["strides"], "padding": cfg["padding"],
                     "data_format": cfg["data_format"], "dilation_rate": cfg["dilation_rate"],
                     "activation": activation(cfg["activation"]), "use_bias": cfg["use_bias"],
                     "depthwise_initializer": GLOROT(), "pointwise_initializer": GLOROT(),
                     "bias_initializer": ZEROS(), "depthwise_regularizer": None, "pointwise_regularizer": None,
                     "bias_regularizer": None, "activity_regularizer": None, "depthwise_constraint": None,
                     "pointwise_constraint": None, "bias_constraint": None})
        return c, conf, True
    if c == "BatchNormalization":                # keras/src/layers/normalization/batch_normalization.py
        conf.update({"axis": cfg["axis"], "momentum": cfg["momentum"], "epsilon": cfg["epsilon"],
                     "center": cfg["center"], "scale": cfg["scale"], "beta_initializer": ZEROS(),
                     "gamma_initializer": ONES(), "moving_mean_initializer": ZEROS(),
                     "moving_variance_initializer": ONES(), "beta_regularizer": None, "gamma_regularizer": None,
                     "beta_constraint": None, "gamma_constraint": None, "synchronized": False, "renorm": False,
                     "renorm_clipping": None, "renorm_momentum": 0.99})
        return c, conf, True
    if c == "LayerNormalization":                # keras/src/layers/normalization/layer_normalization.py
        axis = cfg["axis"]
        # TF.js writes the resolved axes ([3] on a rank-4 input); Keras keeps what the user passed, -1 here.
        if axis == [len(in_shapes[0]) - 1]:
            axis = -1
        conf.update({"axis": axis, "epsilon": cfg["epsilon"], "center": cfg["center"], "scale": cfg["scale"],
                     "rms_scaling": False, "beta_initializer": ZEROS(), "gamma_initializer": ONES(),
                     "beta_regularizer": None, "gamma_regularizer": None, "beta_constraint": None,
                     "gamma_constraint": None})
        return c, conf, True
    if c == "Dense":                             # keras/src/layers/core/dense.py
        conf.update({"units": cfg["units"], "activation": activation(cfg["activation"]),
                     "use_bias": cfg["use_bias"], "kernel_initializer": GLOROT(), "bias_initializer": ZEROS(),
                     "kernel_regularizer": None, "bias_regularizer": None, "kernel_constraint": None,
                     "bias_constraint": None, "quantization_config": None})
        return c, conf, True
    if c == "Activation":                        # keras/src/layers/activations/activation.py
        conf["activation"] = activation(cfg["activation"])
        return c, conf, False
    if c == "ReLU":                              # keras/src/layers/activations/relu.py
        mv = cfg.get("max_value")
        conf.update({"max_value": None if mv is None else float(mv), "negative_slope": 0.0, "threshold": 0.0})
        return c, conf, False
    if c in ("Add", "Multiply"):                 # keras/src/layers/merging/base_merge.py (build: shape checks)
        return c, conf, True
    if c == "Concatenate":                       # keras/src/layers/merging/concatenate.py
        conf["axis"] = cfg["axis"]
        return c, conf, True
    if c in ("MaxPooling2D", "AveragePooling2D"):  # keras/src/layers/pooling/base_pooling.py
        conf.update({"pool_size": cfg["pool_size"], "padding": cfg["padding"], "strides": cfg["strides"],
                     "data_format": cfg["data_format"]})
        return c, conf, False
    if c == "GlobalAveragePooling2D":            # keras/src/layers/pooling/base_global_pooling.py
        conf.update({"data_format": cfg["data_format"], "keepdims": bool(cfg.get("keepdims", False))})
        return c, conf, False
    if c == "ZeroPadding2D":                     # keras/src/layers/reshaping/zero_padding2d.py
        conf.update({"padding": cfg["padding"], "data_format": cfg["data_format"]})
        return c, conf, False
    if c == "Dropout":                           # keras/src/layers/regularization/dropout.py
        conf.update({"rate": cfg["rate"], "seed": cfg.get("seed"), "noise_shape": cfg.get("noise_shape")})
        return c, conf, False
    if c == "Flatten":                           # keras/src/layers/reshaping/flatten.py
        conf["data_format"] = cfg.get("data_format", "channels_last")
        return c, conf, False
    if c == "Reshape":                           # keras/src/layers/reshaping/reshape.py
        conf["target_shape"] = cfg["target_shape"]
        return c, conf, False
    if c == "Rescaling":                         # keras/src/layers/preprocessing/rescaling.py
        scale = cfg["scale"]
        conf.update({"scale": [float(v) for v in scale] if isinstance(scale, list) else float(scale),
                     "offset": float(cfg.get("offset", 0.0))})
        return c, conf, False
    if c == "Normalization":                     # keras/src/layers/preprocessing/normalization.py
        conf.update({"axis": cfg["axis"], "invert": cfg["invert"], "mean": cfg.get("mean"),
                     "variance": cfg.get("variance")})
        return c, conf, True
    fail(f"layer class {c} is not converted")


# The kwargs keras/src/layers/layer.py __call__ records in a node (functional.serialize_node writes them):
# a call-context argument (training) that is not None - the user's, else the call() signature's default - and,
# for a call() that has a `mask` argument and one tensor argument, mask=None (no Keras mask here).
CALL_TRAINING_DEFAULT = {"Dropout": False}                 # dropout.py: call(self, inputs, training=False)
CALL_HAS_MASK = {"BatchNormalization", "Model", "Sequential"}  # batch_normalization.py, functional.py, sequential.py


def node_kwargs(node, user_kwargs):
    kwargs = {}
    training = user_kwargs.get("training", CALL_TRAINING_DEFAULT.get(node.cls))
    if training is not None:
        kwargs["training"] = training
    if node.cls in CALL_HAS_MASK:
        kwargs["mask"] = None
    return kwargs


def keras_tensor(shape, layer, node_index):
    """serialization_lib.serialize_keras_object of a KerasTensor: the `__keras_tensor__` form."""
    return {"class_name": "__keras_tensor__",
            "config": {"shape": list(shape), "dtype": "float32", "keras_history": [layer, node_index, 0]}}


class Converter:
    def __init__(self):
        self.auto_inputs = 0

    def input_layer(self, name, batch_shape):
        """keras/src/layers/core/input_layer.py InputLayer.get_config; exported as keras.layers.InputLayer."""
        return {"module": "keras.layers", "class_name": "InputLayer",
                "config": {"batch_shape": list(batch_shape), "dtype": "float32", "sparse": False,
                           "ragged": False, "name": name, "optional": False},
                "registered_name": None}

    def serialize_layer(self, node, in_shapes):
        """serialize_keras_object(layer): module, class_name, config, registered_name, build_config."""
        if node.children:
            return self.serialize_model(node.children, nested=True)
        cls, conf, has_build = layer_config(node, in_shapes)
        out = {"module": "keras.layers", "class_name": cls, "config": conf, "registered_name": None}
        if has_build:
            out["build_config"] = {"input_shape": in_shapes if len(in_shapes) > 1 or cls in ("Add", "Multiply",
                                                                                           "Concatenate")
                                   else in_shapes[0]}
        return out

    def serialize_model(self, graph, nested=False):
        if graph.cls == "Sequential":
            return self.serialize_sequential(graph, nested)
        return self.serialize_functional(graph)

    def serialize_functional(self, graph):
        """keras/src/models/functional.py Functional.get_config. Functional is not exported, so
        serialize_keras_object writes its module and registered_name "Functional" (object_registration
        .get_registered_name returns the class name); build_config {"input_shape": None} because
        Functional.__init__ calls self.build(None)."""
        order = map_graph_order(graph)
        if order != [n.name for n in graph.nodes]:
            fail(f"{graph.path or graph.name}: TF.js layer order {[n.name for n in graph.nodes]} is not Keras' "
                 f"map_graph order {order}")
        # Functional models start with a node linking their input to their output, so a call of a nested
        # Functional is its node 1; a Sequential (not a Functional subclass) gets node 0 at its first call.
        node_index = {n.name: (1 if n.children and n.children.cls == "Model" else 0) for n in graph.nodes}
        layers = []
        for n in graph.nodes:
            if n.cls == "InputLayer":
                entry = self.input_layer(n.name, n.cfg["batch_input_shape"])
                entry["name"] = n.name
                entry["inbound_nodes"] = []
                layers.append(entry)
                continue
            ins = graph.inputs_of(n)
            in_shapes = [graph.by_name[name].out_shape for name, _ in ins]
            entry = self.serialize_layer(n, in_shapes)
            tensors = [keras_tensor(graph.by_name[name].out_shape, name, node_index[name]) for name, _ in ins]
            # a merge layer is called on a list: args = ([x1, x2],); any other layer on one tensor: args = (x,)
            args = [tensors] if n.cls in ("Add", "Multiply", "Concatenate") else tensors
            entry["name"] = n.name
            entry["inbound_nodes"] = [{"args": args, "kwargs": node_kwargs(n, graph.call_kwargs(n))}]
            layers.append(entry)

        def tensor_ref(ref):
            return [ref[0], node_index[ref[0]], ref[2]]

        if len(graph.input_layers) != 1 or len(graph.output_layers) != 1:
            fail(f"{graph.name}: one input and one output expected")
        # Functional(inputs, outputs) with one tensor each: _inputs_struct is that tensor, so input_layers is
        # one [name, node, tensor] triple, not a list of them.
        config = {"name": graph.name, "trainable": True, "layers": layers,
                  "input_layers": tensor_ref(graph.input_layers[0]),
                  "output_layers": tensor_ref(graph.output_layers[0])}
        return {"module": "keras.src.models.functional", "class_name": "Functional", "config": config,
                "registered_name": "Functional", "build_config": {"input_shape": None}}

    def serialize_sequential(self, graph, nested):
        """keras/src/models/sequential.py Sequential.get_config: the layers including the InputLayer
        (Sequential.build puts one first when the model is built from a shape), build_input_shape; exported as
        keras.Sequential, so module "keras"; build_config from Sequential.build(input_shape)."""
        if nested:
            self.auto_inputs += 1
            input_name = f"input_layer_{self.auto_inputs}"          # naming.auto_name("input_layer")
        else:
            input_name = "input_layer"
        batch_shape = graph.batch_input_shape
        layers = [self.input_layer(input_name, batch_shape)]
        shape = list(batch_shape)
        for n in graph.nodes:
            layers.append(self.serialize_layer(n, [shape]))
            shape = n.out_shape
        config = {"name": graph.name, "trainable": True, "dtype": copy.deepcopy(POLICY), "layers": layers,
                  "build_input_shape": list(batch_shape)}
        return {"module": "keras", "class_name": "Sequential", "config": config, "registered_name": None,
                "build_config": {"input_shape": list(batch_shape)}}


# ------------------------------------------------------------------------------------------- weights

# Keras 3 variable order per class: build() creates them in this order and Layer.save_own_variables writes
# self._trainable_variables + self._non_trainable_variables as "0", "1", ... The names are TF.js' weight names.
def var_roles(node):
    c, cfg = node.cls, node.cfg
    bias = ["bias"] if cfg.get("use_bias", True) else []
    if c in ("Conv2D", "Dense"):                 # base_conv.py / dense.py build: kernel, bias
        return ["kernel"] + bias
    if c == "DepthwiseConv2D":                   # base_depthwise_conv.py build: "kernel" (TF.js: depthwise_kernel)
        return ["depthwise_kernel"] + bias
    if c == "SeparableConv2D":                   # base_separable_conv.py build: depthwise, pointwise, bias
        return ["depthwise_kernel", "pointwise_kernel"] + bias
    if c == "BatchNormalization":                # batch_normalization.py build: gamma, beta trainable;
        return (["gamma"] if cfg["scale"] else []) + (["beta"] if cfg["center"] else []) + \
            ["moving_mean", "moving_variance"]   # moving_mean, moving_variance not
    if c == "LayerNormalization":                # layer_normalization.py build: gamma, beta
        return (["gamma"] if cfg["scale"] else []) + (["beta"] if cfg["center"] else [])
    if c == "Normalization":                     # normalization.py build: mean, variance, count when not given
        return [] if cfg.get("mean") is not None else ["mean", "variance", "count"]
    return []


def keras_layers(graph):
    """Model.layers as _walk_saveable yields them: Functional.layers is every operation (the InputLayer too);
    Sequential.layers leaves the InputLayer out (sequential.py), and TF.js' Sequential config has none."""
    return graph.nodes


def save_state(graph, name, store, path, weights, used):
    """keras/src/saving/saving_lib.py _save_state for a model: save_own_variables into make(path) (a model has
    no variables of its own: an empty vars group), then _walk_saveable's first item, ("layers", model.layers),
    through _save_container_state. An uncompiled model has no other saveable attribute (no optimizer)."""
    store.make(path, name)
    save_container(graph, store, f"{path}/layers" if path else "layers", weights, used)


def save_container(graph, store, path, weights, used):
    """_save_container_state: each layer at <path>/<to_snake_case(class name)>[_k], _k from _get_unique_name
    over this container only; the class is Keras 3's (a nested TF.js 'Model' is keras' Functional)."""
    used_names = {}
    for node in keras_layers(graph):
        keras_class = {"Model": "Functional"}.get(node.cls, node.cls)
        sub = f"{path}/{get_unique_name(to_snake_case(keras_class), used_names)}"
        if node.children:
            save_state(node.children, node.name, store, sub, weights, used)
            continue
        vars_ = []
        for role in var_roles(node):
            key = f"{node.name}/{role}"
            if key not in weights:
                fail(f"{key}: no such TF.js weight")
            if key in used:
                fail(f"{key}: used twice")
            used.add(key)
            arr = weights[key]
            if role == "count":                  # add_weight(dtype="int"): int64 under the TensorFlow backend
                arr = arr.astype(np.int64)
            vars_.append(arr)
        store.make(sub, node.name)
        for i, arr in enumerate(vars_):
            store.set(str(i), arr)


class H5Store:
    """keras/src/saving/saving_lib.py H5IOStore in write mode. make(path, metadata={"name": ...}) creates
    <path>/vars (or "vars" at the root) at once because the metadata is not empty, with the name as an
    attribute (_create_h5_group); __setitem__ stores a dataset under its index ("0", "1", ...)."""

    def __init__(self, h5file):
        self.f = h5file
        self.group = None

    def make(self, path, name):
        self.group = self.f.create_group("vars") if not path else self.f.create_group(path).create_group("vars")
        self.group.attrs["name"] = name

    def set(self, key, value):
        self.group[key] = value


def write_weights_h5(graph, weights, target):
    """save_weights_only / the H5IOStore inside save_model: h5py.File(path_or_io, mode="w"), defaults."""
    used = set()
    with h5py.File(target, "w") as f:
        save_state(graph, graph.name, H5Store(f), "", weights, used)
    missing = sorted(set(weights) - used)
    if missing:
        fail(f"TF.js weights not written: {missing}")


# ------------------------------------------------------------------------------------------- zip

def write_keras_zip(target, config_json, metadata_json, h5_bytes, compression):
    """saving_lib._save_model_to_fileobj: zipfile.ZipFile(fileobj, "w") (ZIP_STORED), metadata.json then
    config.json through zf.open(name, "w"), then H5IOStore("model.weights.h5", archive=zf).close(), which
    writes the in-memory HDF5 with zf.writestr(name, bytes). In Python's zipfile (3.11), open(name, "w")
    makes ZipInfo(name): date 1980-01-01 00:00:00, external_attr 0; writestr(name) makes
    ZipInfo(name, date_time=now) with external_attr 0o600 << 16 (a fixed date here); both take the
    ZipFile's compression."""
    with zipfile.ZipFile(target, "w", compression=compression) as zf:
        for name, text in (("metadata.json", metadata_json), ("config.json", config_json)):
            info = zipfile.ZipInfo(name)
            info.compress_type = compression
            with zf.open(info, "w") as f:
                f.write(text.encode())
        info = zipfile.ZipInfo("model.weights.h5", date_time=ZIP_DATE_TIME)
        info.compress_type = compression
        info.external_attr = 0o600 << 16
        zf.writestr(info, h5_bytes)


# ------------------------------------------------------------------------------------------- checks

def check_h5(h5, graph, weights):
    """Read the .h5 back: every TF.js weight exactly once, at the Keras path and index, same shape and values;
    every vars group named after its layer; nothing else in the file."""
    seen, groups = {}, []

    def walk(g, p):
        for k, v in g.items():
            q = f"{p}/{k}" if p else k
            if isinstance(v, h5py.Dataset):
                seen[q] = v
            else:
                if k == "vars":
                    groups.append((q, v.attrs.get("name")))
                walk(v, q)

    walk(h5, "")
    expected, names = {}, {}

    def expect(graph, path, name):
        names[f"{path}/vars" if path else "vars"] = name
        used = {}
        for node in keras_layers(graph):
            keras_class = {"Model": "Functional"}.get(node.cls, node.cls)
            sub = f"{path}/layers/{get_unique_name(to_snake_case(keras_class), used)}".lstrip("/")
            if node.children:
                expect(node.children, sub, node.name)
                continue
            names[f"{sub}/vars"] = node.name
            for i, role in enumerate(var_roles(node)):
                expected[f"{sub}/vars/{i}"] = f"{node.name}/{role}"

    expect(graph, "", graph.name)
    if set(seen) != set(expected):
        fail(f"h5 datasets {sorted(set(seen) ^ set(expected))} differ from the expected layout")
    if sorted(expected.values()) != sorted(weights):
        fail("the h5 does not hold every TF.js weight exactly once")
    for path, key in expected.items():
        got, want = seen[path][()], weights[key]
        if got.shape != want.shape or not np.array_equal(got, want):
            fail(f"{path}: holds other values than TF.js weight {key}")
        if want.dtype == np.float32 and got.dtype != np.float32:
            fail(f"{path}: dtype {got.dtype}")
    for path, name in groups:
        if names.get(path) != name:
            fail(f"{path}: name attribute {name!r}, expected {names.get(path)!r}")
    if len(groups) != len(names):
        fail(f"{len(groups)} vars groups, expected {len(names)}")
    return len(seen), len(groups)


def check_config(config, graph):
    """Re-read config.json: every inbound tensor names a layer of its own model, and its shape is that layer's."""
    def walk(entry, g):
        if entry["class_name"] == "Sequential":
            return
        layers = {l["name"]: l for l in entry["config"]["layers"]}
        for l in entry["config"]["layers"]:
            for node in l["inbound_nodes"]:
                flat = node["args"][0] if isinstance(node["args"][0], list) else node["args"]
                for t in flat:
                    name = t["config"]["keras_history"][0]
                    if name not in layers:
                        fail(f"{l['name']}: input {name} is not a layer of {entry['config']['name']}")
                    if t["config"]["shape"] != g.by_name[name].out_shape:
                        fail(f"{l['name']}: input shape {t['config']['shape']}")
            if l["class_name"] in ("Functional",):
                walk(l, g.by_name[l["name"]].children)

    walk(config, graph)


# ------------------------------------------------------------------------------------------- main

def convert(folder):
    topology, weights = load_tfjs(folder)
    graph = Graph(topology)
    if graph.cls == "Sequential":
        infer_graph(graph, [graph.batch_input_shape])
    else:
        first = graph.by_name[graph.input_layers[0][0]]
        infer_graph(graph, [first.cfg["batch_input_shape"]])
    ref_file = folder / "reference.json"
    if ref_file.exists():
        check_shapes(graph, json.loads(ref_file.read_text())["layer_output_shapes"])

    config = Converter().serialize_model(graph)
    check_config(config, graph)
    # saving_lib._serialize_model_as_json: json.dumps(serialize_keras_object(model)) and the metadata dict.
    config_json = json.dumps(config)
    metadata_json = json.dumps({"keras_version": KERAS_VERSION, "date_saved": DATE_SAVED})
    # Model.to_json (keras/src/models/model.py): json.dumps(serialize_keras_object(self)), the same text.
    (folder / "config.json").write_text(config_json)

    write_weights_h5(graph, weights, folder / "model.weights.h5")
    buf = io.BytesIO()                           # H5IOStore(archive=zf) writes into a BytesIO first
    write_weights_h5(graph, weights, buf)
    write_keras_zip(folder / "model.keras", config_json, metadata_json, buf.getvalue(), zipfile.ZIP_STORED)
    if folder.name in DEFLATED:
        write_keras_zip(folder / "model_deflated.keras", config_json, metadata_json, buf.getvalue(),
                        zipfile.ZIP_DEFLATED)
    else:
        (folder / "model_deflated.keras").unlink(missing_ok=True)

    with h5py.File(folder / "model.weights.h5", "r") as h5:
        n, g = check_h5(h5, graph, weights)
    with zipfile.ZipFile(folder / "model.keras") as zf:
        names = [i.filename for i in zf.infolist()]
        if names != ["metadata.json", "config.json", "model.weights.h5"]:
            fail(f"zip entries {names}")
        if any(i.compress_type != zipfile.ZIP_STORED for i in zf.infolist()):
            fail("model.keras entries must be stored")
        if json.loads(zf.read("config.json")) != config:
            fail("config.json in the zip differs")
        with h5py.File(io.BytesIO(zf.read("model.weights.h5")), "r") as h5:
            check_h5(h5, graph, weights)
    print(f"{folder.name}: {n} weights in {g} vars groups; model.keras {(folder / 'model.keras').stat().st_size} "
          f"bytes, model.weights.h5 {(folder / 'model.weights.h5').stat().st_size}, config.json {len(config_json)}")


def main(argv):
    folders = [Path(a) for a in argv] or sorted(p.parent for p in FAMILIES.glob("*/model.json"))
    if not folders:
        fail(f"no model.json under {FAMILIES}")
    for folder in folders:
        if not (folder / "model.json").exists():
            fail(f"{folder}: no model.json")
        convert(folder)


if __name__ == "__main__":
    main(sys.argv[1:])
