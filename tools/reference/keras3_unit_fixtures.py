#!/usr/bin/python3
"""Writes the small Keras files of gaze's loader tests (tests/fixtures/keras3/), without Keras.

    /usr/bin/python3 tools/reference/keras3_unit_fixtures.py

Keras cannot run here, so each file is written the way Keras' own code writes it, with h5py, numpy
and zipfile; the comments name the Keras lines each part follows (github.com/keras-team/keras,
keras/src/...). For each model, with seeded weights and BatchNormalization statistics:
  <m>.keras             Keras 3 model.save(): a stored zip of metadata.json, config.json,
                        model.weights.h5 (saving/saving_lib.py, _save_model_to_fileobj)
  <m>_deflated.keras    the same entries deflated (a .keras re-zipped by hand)
  <m>.weights.h5        Keras 3 model.save_weights() (saving_lib.save_weights_only)
  <m>_config.json       Keras 3 model.to_json(), the same text as the archive's config.json
  <m>_keras2.h5         Keras 2 model.save() (full model: model_config + model_weights)
  <m>_keras2_weights.h5 Keras 2 model.save_weights() (layer_names at the root)
  <m>_keras2.json       Keras 2 model.to_json()
                        (the three Keras 2 files for the models without nesting only)
  <m>_input.npy         one input [1, H, W, C] (float32)
  <m>_expected.npy      the model's output for it, computed here in float64 with numpy
The hard_sigmoid model is saved twice, as Keras 3.6 and as Keras 2.15 would (metadata.json's
keras_version decides which hard_sigmoid applies), with both expected outputs.
"""
from __future__ import annotations

import io
import json
import os
import zipfile

import h5py
import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
OUT = os.path.join(ROOT, "tests", "fixtures", "keras3")
KERAS3_VERSION = "3.6.0"
KERAS2_VERSION = "2.15.0"


# ---- keras/src/utils/naming.py ----

def to_snake_case(name):
    import re

    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    name = re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()
    return name


# ---- A model description: layers in `model.layers` order ----
#
# Each layer: class, name, config (the fields both Keras versions write alike), inbound layer
# names, weights as (Keras 2 short name, array) in `layer.weights` order, which is also Keras 3's
# `_trainable_variables + _non_trainable_variables` order. An inbound entry is a layer name (its
# first call) or (name, k) for its k-th call. A shared layer has several `calls`, each a list of
# inbound entries. A nested model is a Layer with `sub` = (model class, its layers, its shapes).

class Layer:
    def __init__(self, cls, name, config=None, inbound=(), weights=(), calls=None, sub=None):
        self.cls, self.name, self.config = cls, name, dict(config or {})
        self.calls = calls if calls is not None else ([list(inbound)] if inbound else [])
        self.weights, self.sub = list(weights), sub

    @property
    def inbound(self):
        return self.calls[0] if self.calls else []


def ref(entry):
    return entry if isinstance(entry, tuple) else (entry, 0)


def dtype_policy():
    # keras/src/dtype_policies/dtype_policy.py, serialized by serialization_lib.
    return {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"},
            "registered_name": None}


def initializer(name):
    return {"module": "keras.initializers", "class_name": name, "config": {"seed": None},
            "registered_name": None}


def keras_history(entry, by_name):
    # A tensor's [layer, node, tensor]. A nested Functional model has a node of its own from its
    # construction, so its first call is node 1 (models/functional.py get_config:
    # node_reindexing_map's kept_nodes = 1 for Functional).
    name, call = ref(entry)
    offset = 1 if by_name[name].cls == "Functional" else 0
    return [name, call + offset, 0]


def keras_tensor(entry, by_name, shapes):
    # serialization_lib.serialize_keras_object of a KerasTensor: "__keras_tensor__".
    return {"class_name": "__keras_tensor__",
            "config": {"shape": shapes[ref(entry)[0]], "dtype": "float32",
                       "keras_history": keras_history(entry, by_name)}}


def keras3_layer_entry(layer, shapes, functional, by_name):
    if layer.sub:
        sub_class, sub_layers, sub_shapes = layer.sub
        # A model as a layer: serialize_keras_object of the model itself.
        entry = keras3_config(sub_class, layer.name, sub_layers, sub_shapes)
        entry["module"] = f"keras.src.models.{sub_class.lower()}"
        del entry["compile_config"]
    else:
        config = dict(layer.config, name=layer.name, trainable=True, dtype=dtype_policy())
        if layer.cls == "InputLayer":
            config = dict(layer.config, name=layer.name, dtype="float32", sparse=False,
                          ragged=False)
        for key in ("kernel_initializer", "bias_initializer", "depthwise_initializer"):
            if key in config:
                config[key] = initializer(config[key])
        # serialization_lib.serialize_keras_object: module, class_name, config, registered_name,
        # build_config (Layer.get_build_config).
        entry = {"module": "keras.layers", "class_name": layer.cls, "config": config,
                 "registered_name": None}
    if layer.inbound:
        entry["build_config"] = {"input_shape": shapes[ref(layer.inbound[0])[0]]}
    if functional:
        # models/functional.py get_config: "name" and "inbound_nodes", one serialize_node
        # {"args": [...], "kwargs": {}} per call; a merge layer's one argument is a list.
        entry["name"] = layer.name
        entry["inbound_nodes"] = []
        for call in layer.calls:
            tensors = [keras_tensor(n, by_name, shapes) for n in call]
            args = [tensors] if len(tensors) > 1 else tensors
            entry["inbound_nodes"].append({"args": args, "kwargs": {}})
    return entry


def keras3_config(model_class, name, layers, shapes):
    functional = model_class == "Functional"
    by_name = {l.name: l for l in layers}
    entries = [keras3_layer_entry(l, shapes, functional, by_name) for l in layers]
    if functional:
        last = layers[-1]
        output = (last.name, len(last.calls) - 1)
        config = {"name": name, "trainable": True, "layers": entries,
                  "input_layers": [layers[0].name, 0, 0],
                  "output_layers": keras_history(output, by_name)}
    else:
        # models/sequential.py get_config: the InputLayer included, build_input_shape.
        config = {"name": name, "trainable": True, "dtype": dtype_policy(), "layers": entries,
                  "build_input_shape": layers[0].config["batch_shape"]}
    return {"module": "keras", "class_name": model_class, "config": config,
            "registered_name": model_class, "build_config": {"input_shape": None},
            "compile_config": None}


def keras2_config(model_class, name, layers):
    entries = []
    for l in layers:
        config = dict(l.config, name=l.name, trainable=True, dtype="float32")
        if l.cls == "InputLayer":
            config = {"batch_input_shape": l.config["batch_shape"], "dtype": "float32",
                      "sparse": False, "ragged": False, "name": l.name}
        for key in ("kernel_initializer", "bias_initializer", "depthwise_initializer"):
            if key in config:
                config[key] = {"class_name": config[key], "config": {"seed": None}}
        entry = {"class_name": l.cls, "config": config}
        if model_class == "Functional":
            entry["name"] = l.name
            entry["inbound_nodes"] = [[[n, 0, 0, {}] for n in l.inbound]] if l.inbound else []
        entries.append(entry)
    config = {"name": name, "layers": entries}
    if model_class == "Functional":
        config["input_layers"] = [[layers[0].name, 0, 0]]
        config["output_layers"] = [[layers[-1].name, 0, 0]]
    return {"class_name": model_class, "config": config, "keras_version": KERAS2_VERSION,
            "backend": "tensorflow"}


# ---- Keras 3 weights: saving_lib._save_state / _save_container_state / H5IOStore ----

def write_keras3_layers(h5, path, model_class, layers, layers_group):
    # _walk_saveable yields ("layers", model.layers) first; Sequential.layers omits the InputLayer.
    listed = layers[1:] if model_class == "Sequential" else layers
    used = {}
    for layer in listed:
        # _save_container_state: to_snake_case(class name), uniquified by _get_unique_name.
        base = to_snake_case(layer.cls)
        if base in used:
            used[base] += 1
            group_name = f"{base}_{used[base]}"
        else:
            used[base] = 0
            group_name = base
        layer_path = f"{path}{layers_group}/{group_name}"
        # _save_state(layer): save_own_variables(H5IOStore.make(path, {"name": layer.name})).
        vars_group = h5.create_group(layer_path).create_group("vars")
        vars_group.attrs["name"] = layer.name
        # Layer.save_own_variables: store[f"{i}"] = v.
        for i, (_, value) in enumerate(layer.weights):
            vars_group[str(i)] = value.astype(np.float32)
        if layer.sub:  # a nested model's own _walk_saveable
            write_keras3_layers(h5, layer_path + "/", layer.sub[0], layer.sub[1], layers_group)


def write_keras3_weights(h5, model_class, model_name, layers, layers_group="layers"):
    # _save_state(model, inner_path=""): the model's own (empty) vars, with metadata {"name"}
    # (H5IOStore.make -> _create_h5_group writes the group and its attributes).
    h5.create_group("vars").attrs["name"] = model_name
    write_keras3_layers(h5, "", model_class, layers, layers_group)
    # A compiled model's optimizer state follows (here a made-up minimal one); loaders skip it.
    opt = h5.create_group("optimizer").create_group("vars")
    opt["0"] = np.array(7, dtype=np.int64)
    opt["1"] = np.zeros((3,), dtype=np.float32)


def keras3_weights_bytes(model_class, model_name, layers, layers_group="layers"):
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as h5:
        write_keras3_weights(h5, model_class, model_name, layers, layers_group)
    return buffer.getvalue()


def write_keras_zip(path, metadata, config, weights, compression=zipfile.ZIP_STORED):
    # _save_model_to_fileobj: zipfile.ZipFile(fileobj, "w") (ZIP_STORED by default), then
    # zf.open(name, "w") for metadata.json and config.json, then H5IOStore.close's
    # archive.writestr("model.weights.h5", ...). Keras stamps the entries with the current time;
    # a fixed one here keeps the files the same from run to run.
    def entry(name):
        info = zipfile.ZipInfo(name, date_time=(2026, 11, 27, 12, 0, 0))
        info.compress_type = compression
        return info

    with zipfile.ZipFile(path, "w", compression=compression) as zf:
        with zf.open(entry("metadata.json"), "w") as f:
            f.write(json.dumps(metadata).encode())
        with zf.open(entry("config.json"), "w") as f:
            f.write(json.dumps(config).encode())
        zf.writestr(entry("model.weights.h5"), weights)


# ---- Keras 2 HDF5: keras/src/legacy/saving/legacy_h5_format.py ----

def write_keras2_layers(group, layers):
    # save_weights_to_hdf5_group: layer_names (all layers), then per layer weight_names and the
    # datasets named by them ("<layer>/<short>:0").
    group.attrs["layer_names"] = np.array([l.name.encode() for l in layers])
    group.attrs["backend"] = b"tensorflow"
    group.attrs["keras_version"] = KERAS2_VERSION.encode()
    for l in layers:
        g = group.create_group(l.name)
        names = [f"{l.name}/{short}:0".encode() for short, _ in l.weights]
        g.attrs["weight_names"] = np.array(names, dtype="S") if names else np.array([], "float64")
        for (short, value), name in zip(l.weights, names):
            g[name.decode()] = value.astype(np.float32)


def write_keras2_full(path, config, layers):
    with h5py.File(path, "w") as h5:
        h5.attrs["keras_version"] = KERAS2_VERSION.encode()
        h5.attrs["backend"] = b"tensorflow"
        h5.attrs["model_config"] = json.dumps(config).encode()
        write_keras2_layers(h5.create_group("model_weights"), layers)


def write_keras2_weights(path, layers):
    with h5py.File(path, "w") as h5:
        write_keras2_layers(h5, layers)


# ---- The numpy reference (float64) ----

def same_pads(size, k, s, d=1):
    k = (k - 1) * d + 1
    out = -(-size // s)
    total = max((out - 1) * s + k - size, 0)
    return total // 2, total - total // 2


def conv2d(x, kernel, strides, padding, depthwise=False):
    kh, kw = kernel.shape[:2]
    n, h, w, c = x.shape
    if padding == "same":
        (t, b), (l, r) = same_pads(h, kh, strides), same_pads(w, kw, strides)
        x = np.pad(x, ((0, 0), (t, b), (l, r), (0, 0)))
    oh = (x.shape[1] - kh) // strides + 1
    ow = (x.shape[2] - kw) // strides + 1
    out_c = c * kernel.shape[3] if depthwise else kernel.shape[3]
    y = np.zeros((n, oh, ow, out_c))
    for i in range(kh):
        for j in range(kw):
            patch = x[:, i:i + oh * strides:strides, j:j + ow * strides:strides, :]
            if depthwise:
                y += (patch[..., :, None] * kernel[i, j]).reshape(n, oh, ow, out_c)
            else:
                y += patch @ kernel[i, j]
    return y


def activation(x, name, keras_major):
    if name == "linear":
        return x
    if name == "relu":
        return np.maximum(x, 0)
    if name == "relu6":
        return np.clip(x, 0, 6)
    if name == "hard_sigmoid":
        # Keras 3: activations.hard_sigmoid = relu6(x + 3) / 6; Keras 2: clip(0.2x + 0.5, 0, 1).
        return np.clip(x + 3, 0, 6) / 6 if keras_major >= 3 else np.clip(0.2 * x + 0.5, 0, 1)
    if name == "softmax":
        e = np.exp(x - x.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)
    raise ValueError(name)


def forward(layers, x, keras_major):
    values = {}
    for l in layers:
        if l.cls == "InputLayer":
            values[(l.name, 0)] = x.astype(np.float64)
            continue
        for k, call in enumerate(l.calls):
            values[(l.name, k)] = layer_forward(l, [values[ref(n)] for n in call], keras_major)
    last = layers[-1]
    return values[(last.name, len(last.calls) - 1)]


def layer_forward(l, ins, keras_major):
    c, w = l.config, {short: v.astype(np.float64) for short, v in l.weights}
    if l.sub:  # a nested model: its own layers on this input
        y = forward(l.sub[1], ins[0], keras_major)
    elif l.cls in ("Conv2D", "DepthwiseConv2D"):
        depthwise = l.cls == "DepthwiseConv2D"
        kernel = w["depthwise_kernel" if depthwise else "kernel"]
        y = conv2d(ins[0], kernel, c["strides"][0], c["padding"], depthwise)
        y = activation(y + w.get("bias", 0), c["activation"], keras_major)
    elif l.cls == "BatchNormalization":
        gamma, beta = w.get("gamma", 1), w.get("beta", 0)
        y = gamma * (ins[0] - w["moving_mean"]) / np.sqrt(w["moving_variance"] + c["epsilon"])
        y = y + beta
    elif l.cls == "ReLU":
        y = np.maximum(ins[0], 0)
    elif l.cls == "Activation":
        y = activation(ins[0], c["activation"], keras_major)
    elif l.cls == "Add":
        y = ins[0] + ins[1]
    elif l.cls == "Dropout":
        y = ins[0]
    elif l.cls == "GlobalAveragePooling2D":
        y = ins[0].mean(axis=(1, 2))
    elif l.cls == "MaxPooling2D":
        p = c["pool_size"][0]
        n, h, wd, ch = ins[0].shape
        y = ins[0][:, :h // p * p, :wd // p * p].reshape(n, h // p, p, wd // p, p, ch)
        y = y.max(axis=(2, 4))
    elif l.cls == "Flatten":
        y = ins[0].reshape(ins[0].shape[0], -1)
    elif l.cls == "Dense":
        y = activation(ins[0] @ w["kernel"] + w.get("bias", 0), c["activation"], keras_major)
    else:
        raise ValueError(l.cls)
    return y


# ---- The models ----

def conv(rng, name, inbound, k, cin, cout, strides=1, padding="same", bias=True, act="linear"):
    weights = [("kernel", rng.normal(0, 1 / np.sqrt(k * k * cin), (k, k, cin, cout)))]
    if bias:
        weights.append(("bias", rng.normal(0, 0.1, (cout,))))
    config = {"filters": cout, "kernel_size": [k, k], "strides": [strides, strides],
              "padding": padding, "data_format": "channels_last", "dilation_rate": [1, 1],
              "groups": 1, "activation": act, "use_bias": bias,
              "kernel_initializer": "GlorotUniform", "bias_initializer": "Zeros",
              "kernel_regularizer": None, "bias_regularizer": None, "activity_regularizer": None,
              "kernel_constraint": None, "bias_constraint": None}
    return Layer("Conv2D", name, config, [inbound], weights)


def batch_norm(rng, name, inbound, c, center=True, scale=True):
    # layers/normalization/batch_normalization.py build: gamma (if scale), beta (if center),
    # moving_mean, moving_variance.
    weights = []
    if scale:
        weights.append(("gamma", rng.uniform(0.5, 1.5, (c,))))
    if center:
        weights.append(("beta", rng.normal(0, 0.2, (c,))))
    weights += [("moving_mean", rng.normal(0, 0.3, (c,))),
                ("moving_variance", rng.uniform(0.5, 2.0, (c,)))]
    config = {"axis": -1, "momentum": 0.99, "epsilon": 0.001, "center": center, "scale": scale,
              "beta_initializer": "Zeros", "gamma_initializer": "Ones",
              "moving_mean_initializer": "Zeros", "moving_variance_initializer": "Ones",
              "beta_regularizer": None, "gamma_regularizer": None, "beta_constraint": None,
              "gamma_constraint": None, "synchronized": False}
    return Layer("BatchNormalization", name, config, [inbound], weights)


def dense(rng, name, inbound, cin, units, act):
    weights = [("kernel", rng.normal(0, 1 / np.sqrt(cin), (cin, units))),
               ("bias", rng.normal(0, 0.1, (units,)))]
    config = {"units": units, "activation": act, "use_bias": True,
              "kernel_initializer": "GlorotUniform", "bias_initializer": "Zeros",
              "kernel_regularizer": None, "bias_regularizer": None, "kernel_constraint": None,
              "bias_constraint": None}
    return Layer("Dense", name, config, [inbound], weights)


def flat_model(rng):
    """A Functional model with a residual branch; two of several classes (conv2d, conv2d_1, ...);
    layers without variables between; layer names unlike the class names."""
    dw_kernel = rng.normal(0, 1 / 3, (3, 3, 8, 1))
    layers = [
        Layer("InputLayer", "image", {"batch_shape": [None, 16, 16, 3]}),
        conv(rng, "stem_conv", "image", 3, 3, 8, strides=2, bias=False),
        batch_norm(rng, "stem_bn", "stem_conv", 8),
        Layer("ReLU", "stem_relu", {"max_value": None, "negative_slope": 0.0, "threshold": 0.0},
              ["stem_bn"]),
        Layer("DepthwiseConv2D", "dw",
              {"kernel_size": [3, 3], "strides": [1, 1], "padding": "same",
               "data_format": "channels_last", "dilation_rate": [1, 1], "depth_multiplier": 1,
               "activation": "linear", "use_bias": True, "depthwise_initializer": "GlorotUniform",
               "bias_initializer": "Zeros"},
              ["stem_relu"], [("depthwise_kernel", dw_kernel), ("bias", rng.normal(0, .1, (8,)))]),
        batch_norm(rng, "dw_bn", "dw", 8, scale=False),
        Layer("Activation", "dw_relu6", {"activation": "relu6"}, ["dw_bn"]),
        conv(rng, "expand", "dw_relu6", 1, 8, 16, act="relu"),
        batch_norm(rng, "expand_bn", "expand", 16, center=False),
        conv(rng, "project", "expand_bn", 1, 16, 8),
        Layer("Add", "residual", {}, ["stem_relu", "project"]),
        Layer("Dropout", "drop", {"rate": 0.2, "seed": None, "noise_shape": None}, ["residual"]),
        Layer("GlobalAveragePooling2D", "pool", {"data_format": "channels_last",
                                                  "keepdims": False}, ["drop"]),
        dense(rng, "logits", "pool", 8, 5, "softmax"),
    ]
    shapes = {"image": [None, 16, 16, 3], "stem_conv": [None, 8, 8, 8], "stem_bn": [None, 8, 8, 8],
              "stem_relu": [None, 8, 8, 8], "dw": [None, 8, 8, 8], "dw_bn": [None, 8, 8, 8],
              "dw_relu6": [None, 8, 8, 8], "expand": [None, 8, 8, 16],
              "expand_bn": [None, 8, 8, 16], "project": [None, 8, 8, 8],
              "residual": [None, 8, 8, 8], "drop": [None, 8, 8, 8], "pool": [None, 8]}
    return "Functional", "flat", layers, shapes, (1, 16, 16, 3)


def sequential_model(rng):
    layers = [
        Layer("InputLayer", "input_layer", {"batch_shape": [None, 12, 12, 3]}),
        conv(rng, "conv_a", "input_layer", 3, 3, 6, padding="valid", act="relu"),
        Layer("MaxPooling2D", "pool_a", {"pool_size": [2, 2], "strides": [2, 2],
                                          "padding": "valid", "data_format": "channels_last"},
              ["conv_a"]),
        conv(rng, "conv_b", "pool_a", 3, 6, 4),
        batch_norm(rng, "bn_b", "conv_b", 4),
        Layer("Flatten", "flatten", {"data_format": "channels_last"}, ["bn_b"]),
        dense(rng, "out", "flatten", 5 * 5 * 4, 3, "softmax"),
    ]
    shapes = {"input_layer": [None, 12, 12, 3], "conv_a": [None, 10, 10, 6],
              "pool_a": [None, 5, 5, 6], "conv_b": [None, 5, 5, 4], "bn_b": [None, 5, 5, 4],
              "flatten": [None, 100]}
    return "Sequential", "seq", layers, shapes, (1, 12, 12, 3)


def nested_model(rng):
    """A Functional model around a Functional base that holds a Sequential block (models nested
    two deep, both kinds), then a Dense layer called twice (a shared layer)."""
    relu = {"max_value": None, "negative_slope": 0.0, "threshold": 0.0}
    inner = [
        Layer("InputLayer", "inner_in", {"batch_shape": [None, 12, 12, 6]}),
        conv(rng, "c", "inner_in", 1, 6, 6),
        batch_norm(rng, "b", "c", 6),
    ]
    inner_shapes = {"inner_in": [None, 12, 12, 6], "c": [None, 12, 12, 6]}
    base = [
        Layer("InputLayer", "base_in", {"batch_shape": [None, 12, 12, 3]}),
        conv(rng, "conv", "base_in", 3, 3, 6, bias=False),
        batch_norm(rng, "bn", "conv", 6),
        Layer("ReLU", "relu", relu, ["bn"]),
        Layer("Sequential", "inner", inbound=["relu"], sub=("Sequential", inner, inner_shapes)),
        Layer("Add", "add", {}, ["relu", "inner"]),
    ]
    base_shapes = {"base_in": [None, 12, 12, 3], "conv": [None, 12, 12, 6],
                   "bn": [None, 12, 12, 6], "relu": [None, 12, 12, 6],
                   "inner": [None, 12, 12, 6]}
    shared = dense(rng, "shared", "pool", 6, 6, "relu")
    shared.calls = [["pool"], [("shared", 0)]]
    layers = [
        Layer("InputLayer", "image", {"batch_shape": [None, 12, 12, 3]}),
        Layer("Functional", "base", inbound=["image"], sub=("Functional", base, base_shapes)),
        Layer("GlobalAveragePooling2D", "pool", {"data_format": "channels_last",
                                                  "keepdims": False}, ["base"]),
        shared,
        dense(rng, "logits", ("shared", 1), 6, 3, "softmax"),
    ]
    shapes = {"image": [None, 12, 12, 3], "base": [None, 12, 12, 6], "pool": [None, 6],
              "shared": [None, 6]}
    return "Functional", "nested", layers, shapes, (1, 12, 12, 3)


def sequential_nested_model(rng):
    """A Sequential model whose first layer is a Functional backbone, as
    Sequential([base, GlobalAveragePooling2D(), Dense()]) makes it."""
    base = [
        Layer("InputLayer", "b_in", {"batch_shape": [None, 10, 10, 3]}),
        conv(rng, "b_conv", "b_in", 3, 3, 4, act="relu"),
        Layer("MaxPooling2D", "b_pool", {"pool_size": [2, 2], "strides": [2, 2],
                                          "padding": "valid", "data_format": "channels_last"},
              ["b_conv"]),
    ]
    base_shapes = {"b_in": [None, 10, 10, 3], "b_conv": [None, 10, 10, 4]}
    layers = [
        Layer("InputLayer", "input_layer", {"batch_shape": [None, 10, 10, 3]}),
        Layer("Functional", "backbone", inbound=["input_layer"],
              sub=("Functional", base, base_shapes)),
        Layer("GlobalAveragePooling2D", "gap", {"data_format": "channels_last",
                                                 "keepdims": False}, ["backbone"]),
        dense(rng, "head", "gap", 4, 3, "softmax"),
    ]
    shapes = {"input_layer": [None, 10, 10, 3], "backbone": [None, 5, 5, 4], "gap": [None, 4]}
    return "Sequential", "seqnest", layers, shapes, (1, 10, 10, 3)


def hard_sigmoid_model(rng):
    layers = [
        Layer("InputLayer", "input_layer", {"batch_shape": [None, 4]}),
        dense(rng, "gate", "input_layer", 4, 6, "hard_sigmoid"),
        dense(rng, "out", "gate", 6, 3, "softmax"),
    ]
    # Large enough inputs that the two hard_sigmoids differ (they agree only at 0 and far out).
    return "Sequential", "hsig", layers, {"input_layer": [None, 4], "gate": [None, 6]}, (1, 4)


def save_all(model, rng, keras2=True):
    model_class, name, layers, shapes, input_shape = model
    config3 = keras3_config(model_class, name, layers, shapes)
    metadata = {"keras_version": KERAS3_VERSION, "date_saved": "2026-11-27@12:00:00"}
    weights = keras3_weights_bytes(model_class, name, layers)
    base = os.path.join(OUT, name)
    write_keras_zip(base + ".keras", metadata, config3, weights)
    write_keras_zip(base + "_deflated.keras", metadata, config3, weights, zipfile.ZIP_DEFLATED)
    with open(base + ".weights.h5", "wb") as f:
        f.write(weights)
    with open(base + "_config.json", "w") as f:
        f.write(json.dumps(config3))
    if keras2:  # not for nested models, whose Keras 2 layout this script does not write
        config2 = keras2_config(model_class, name, layers)
        # Keras 2 saves model.layers too, and a Sequential model's omits its InputLayer.
        listed = layers[1:] if model_class == "Sequential" else layers
        write_keras2_full(base + "_keras2.h5", config2, listed)
        write_keras2_weights(base + "_keras2_weights.h5", listed)
        with open(base + "_keras2.json", "w") as f:
            f.write(json.dumps(config2))
    x = rng.normal(0, 1, input_shape).astype(np.float32)
    np.save(base + "_input.npy", x)
    np.save(base + "_expected.npy", forward(layers, x, 3).astype(np.float32))
    return config3, layers


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(20261127)
    save_all(flat_model(rng), rng)
    save_all(sequential_model(rng), rng)

    model_class, name, layers, shapes, input_shape = hard_sigmoid_model(rng)
    config3 = keras3_config(model_class, name, layers, shapes)
    base = os.path.join(OUT, name)
    write_keras_zip(base + "3.keras", {"keras_version": KERAS3_VERSION}, config3,
                    keras3_weights_bytes(model_class, name, layers))
    # Keras 2.13-2.15 wrote .keras files too; H5IOStore.get's "Fix for 2.13 compatibility"
    # reads their `_layer_checkpoint_dependencies` in place of `layers`.
    write_keras_zip(base + "2.keras", {"keras_version": KERAS2_VERSION}, config3,
                    keras3_weights_bytes(model_class, name, layers,
                                         "_layer_checkpoint_dependencies"))
    x = rng.uniform(-4, 4, input_shape).astype(np.float32)
    np.save(base + "_input.npy", x)
    np.save(base + "_expected3.npy", forward(layers, x, 3).astype(np.float32))
    np.save(base + "_expected2.npy", forward(layers, x, 2).astype(np.float32))

    save_all(nested_model(rng), rng, keras2=False)
    save_all(sequential_nested_model(rng), rng, keras2=False)
    for cls in ("Conv2D", "BatchNormalization", "ReLU", "DepthwiseConv2D", "InputLayer",
                "GlobalAveragePooling2D", "SeparableConv2D", "PReLU", "ELU", "UpSampling2D",
                "Functional", "Sequential", "LayerNormalization", "Conv2DTranspose", "Dense"):
        print(f'{{"{cls}", "{to_snake_case(cls)}"}},')


if __name__ == "__main__":
    main()
