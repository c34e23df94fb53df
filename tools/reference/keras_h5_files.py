#!/usr/bin/python3
"""Write one TF.js model as the legacy `.h5` files Keras writes, with h5py, in Keras' own layouts.

    /usr/bin/python3 tools/reference/keras_h5_files.py      # writes tests/fixtures/keras_h5/

Every other `.h5` of the tests comes from gaze's own writer, so a mistake shared by gaze's reader and writer
would pass unseen. These files come from h5py (Debian's python3-h5py 3.7), through the same h5py calls, in the
same order and with the same Python types as Keras' writer, so h5py picks the same HDF5 types Keras gets:
  - a Python `str` attribute becomes a variable-length UTF-8 string;
  - `bytes`, and a list of `bytes`, become variable-length ASCII strings (h5py >= 3);
  - a NumPy `S` array (what `np.asarray(list of bytes)` gives) becomes fixed-length strings;
  - an empty list becomes an empty float64 array (`weight_names` of a layer without weights).

The code followed (github.com/keras-team/...):
  keras     keras/src/legacy/saving/legacy_h5_format.py at v3.15.1 (the same at 3422977a, 3.16.0.dev):
              save_model_to_hdf5, save_weights_to_hdf5_group, save_subset_weights_to_hdf5_group,
              save_attributes_to_hdf5_group (HDF5_OBJECT_HEADER_LIMIT = 64512), load_weights_from_hdf5_group,
              load_attributes_from_hdf5_group;
            keras/src/legacy/saving/saving_utils.py model_metadata;
            keras/src/legacy/saving/serialization.py serialize_keras_object (the layer entries of the config);
            keras/src/models/functional.py Functional.get_config, serialize_node (nodes stay `__keras_tensor__`);
            keras/src/backend/common/variables.py Variable.path ("conv1/kernel": no ":0").
  tf-keras  tf_keras/saving/legacy/hdf5_format.py at v2.21.0 (the same functions; weight names are tf.Variable
            names, "conv1/kernel:0"); tf_keras/saving/legacy/saving_utils.py model_metadata;
            tf_keras/engine/training.py Model.to_json / _updated_config (keras_version and backend in the JSON).

The models are tests/fixtures/families/mobilenet_v1 (Conv2D, BatchNormalization, ReLU(6), ZeroPadding2D,
DepthwiseConv2D, GlobalAveragePooling2D(keepdims), Dropout, Reshape, softmax) and finetuned_nested (a MobileNet
base nested as one layer): their TF.js weights, decoded from weights.bin per the manifest, go into the files, so
TF.js's stored outputs (each family's reference.json) are the reference for every file. The files
(tests/fixtures/README.md describes them):
  tf_keras_model.h5           tf.keras 2.21 model.save("m.h5"): names "conv1/kernel:0"
  tf_keras_weights.h5         tf.keras model.save_weights("w.h5"): the same, at the root
  tf_keras_model.json         tf.keras model.to_json(), the config for tf_keras_weights.h5
  keras3_legacy_model.h5      Keras 3.15.1 model.save("m.h5"): names "conv1/kernel", Keras 3 layer configs
  keras3_legacy_weights.h5    Keras 3 save_weights_to_hdf5_group at the root (config: the family's config.json)
  tf_keras_chunked_model.h5   tf.keras model.save with one layer name long enough that layer_names exceeds
                              64512 bytes: Keras splits it into layer_names0, layer_names1 (fixed-length strings)
  h5py2_model.h5              tf.keras model.save as written through h5py 2, which stored bytes as fixed-length
                              strings (files from before h5py 3.0, e.g. Keras 2.2's)
  tf_keras_compiled_model.h5  tf.keras model.save after compile(optimizer="adam") and training: training_config
                              and an optimizer_weights group (Adam's iteration count and slots)
  tf_keras_nested_model.h5, tf_keras_nested_weights.h5 (+ tf_keras_nested_model.json), keras3_legacy_nested_model.h5
                              finetuned_nested the same ways: the base's group lists all its trainable weights,
                              then all its non-trainable ones (layer.trainable_weights + non_trainable_weights)

The script checks its output by reading each file back as Keras' load_weights_from_hdf5_group does (by layer
order, weight_names from the attribute or its chunks): every TF.js weight comes back once, equal, in Keras'
order; and each attribute has the HDF5 string type named above.
"""

import copy
import json
import sys
from pathlib import Path

import h5py
import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import keras3_files  # noqa: E402  (load_tfjs, Graph, var_roles: shared with the Keras 3 files)

FIXTURES = HERE.parent.parent / "tests" / "fixtures"
OUT = FIXTURES / "keras_h5"
HDF5_OBJECT_HEADER_LIMIT = 64512  # legacy_h5_format.py
TF_KERAS_VERSION = "2.21.0"
KERAS3_VERSION = "3.15.1"
BACKEND = "tensorflow"
LONG_LAYER = "conv_preds"  # renamed in the chunked file; any name works, TF.js' numbers do not depend on it


def fail(msg):
    raise SystemExit(f"keras_h5_files: error: {msg}")


# ------------------------------------------------------------------------------------------- string storage

class H5py3:
    """What h5py >= 3 does with the values Keras assigns: plain assignment."""

    @staticmethod
    def attr(group, name, value):
        group.attrs[name] = value


class H5py2:
    """What h5py 2 did with them: bytes (and lists of bytes) were stored as fixed-length strings."""

    @staticmethod
    def attr(group, name, value):
        if isinstance(value, bytes):
            value = np.bytes_(value)
        elif isinstance(value, list) and value and all(isinstance(v, bytes) for v in value):
            value = np.asarray(value)
        group.attrs[name] = value


# ------------------------------------------------------------------------------------------- Keras' writer

def save_attributes_to_hdf5_group(group, name, data, h5):
    """legacy_h5_format.save_attributes_to_hdf5_group: the list whole when np.asarray(data) fits in
    HDF5_OBJECT_HEADER_LIMIT bytes, else np.array_split into the fewest chunks that each fit, as <name>0, ..."""
    if any(len(x) > HDF5_OBJECT_HEADER_LIMIT for x in data):
        fail(f"{name}: an item is longer than {HDF5_OBJECT_HEADER_LIMIT} bytes")
    data_npy = np.asarray(data)
    num_chunks = 1
    chunked_data = np.array_split(data_npy, num_chunks)
    while any(x.nbytes > HDF5_OBJECT_HEADER_LIMIT for x in chunked_data):
        num_chunks += 1
        chunked_data = np.array_split(data_npy, num_chunks)
    if num_chunks > 1:
        for chunk_id, chunk_data in enumerate(chunked_data):
            group.attrs["%s%d" % (name, chunk_id)] = chunk_data  # NumPy S arrays under either h5py
    else:
        h5.attr(group, name, data)  # the list itself


def save_subset_weights_to_hdf5_group(f, weights, h5):
    """save_subset_weights_to_hdf5_group: weight_names, then one dataset per name; a name with '/' makes
    nested groups ("conv1/kernel:0" -> <layer>/conv1/kernel:0)."""
    weight_names = [name.encode("utf8") for name, _ in weights]
    save_attributes_to_hdf5_group(f, "weight_names", weight_names, h5)
    for name, (_, val) in zip(weight_names, weights):
        param_dset = f.create_dataset(name, val.shape, dtype=val.dtype)
        param_dset[:] = val


def save_weights_to_hdf5_group(f, model, h5):
    """save_weights_to_hdf5_group: layer_names in model.layers order, backend and keras_version as bytes, one
    group per layer in sorted name order, then top_level_model_weights (empty: a Functional model has no
    weights of its own)."""
    save_attributes_to_hdf5_group(f, "layer_names", [layer.name.encode("utf8") for layer in model.layers], h5)
    h5.attr(f, "backend", BACKEND.encode("utf8"))
    h5.attr(f, "keras_version", model.keras_version.encode("utf8"))
    for layer in sorted(model.layers, key=lambda x: x.name):
        g = f.create_group(layer.name)
        save_subset_weights_to_hdf5_group(g, layer.weights, h5)
    g = f.create_group("top_level_model_weights")
    save_subset_weights_to_hdf5_group(g, [], h5)


def save_model_to_hdf5(path, model, h5):
    """save_model_to_hdf5 with saving_utils.model_metadata: keras_version and backend as str, model_config as
    JSON bytes; then the model_weights group. An uncompiled model: no training_config, no optimizer_weights."""
    metadata = dict(keras_version=model.keras_version, backend=BACKEND,
                    model_config={"class_name": "Functional", "config": model.config})
    if model.training_config:
        metadata["training_config"] = model.training_config
    with h5py.File(path, mode="w") as f:
        for k, v in metadata.items():
            if isinstance(v, (dict, list, tuple)):
                h5.attr(f, k, json.dumps(v).encode("utf8"))
            else:
                h5.attr(f, k, v)
        save_weights_to_hdf5_group(f.create_group("model_weights"), model, h5)
        if model.optimizer_weights:
            save_optimizer_weights_to_hdf5_group(f, model.optimizer_weights, h5)


def save_optimizer_weights_to_hdf5_group(hdf5_group, weights, h5):
    """save_optimizer_weights_to_hdf5_group: group optimizer_weights, weight_names, one dataset per name (a
    scalar one for the iteration count)."""
    weights_group = hdf5_group.create_group("optimizer_weights")
    weight_names = [name.encode("utf8") for name, _ in weights]
    save_attributes_to_hdf5_group(weights_group, "weight_names", weight_names, h5)
    for name, (_, val) in zip(weight_names, weights):
        param_dset = weights_group.create_dataset(name, val.shape, dtype=val.dtype)
        if not val.shape:
            param_dset[()] = val
        else:
            param_dset[:] = val


def save_weights_file(path, model, h5):
    """model.save_weights("w.h5") (tf.keras; Keras 3 calls the same function for a legacy file): the group is
    the file's root."""
    with h5py.File(path, mode="w") as f:
        save_weights_to_hdf5_group(f, model, h5)


# ------------------------------------------------------------------------------------------- the model

class Layer:
    def __init__(self, name, weights):
        self.name = name
        self.weights = weights  # [(variable name, array)] in _legacy_weights order


class Model:
    def __init__(self, keras_version, config, layers, training_config=None, optimizer_weights=None):
        self.keras_version = keras_version
        self.config = config
        self.layers = layers
        self.training_config = training_config      # a compiled model's, else None
        self.optimizer_weights = optimizer_weights  # [(name, array)] of its optimizer, else None


def keras3_variable(node, role):
    """Keras 3's variable name: DepthwiseConv2D's kernel is "kernel" (base_depthwise_conv.py build); TF.js and
    tf.keras call it depthwise_kernel. The other names are the same."""
    return "kernel" if node.cls == "DepthwiseConv2D" and role == "depthwise_kernel" else role


NON_TRAINABLE = {"moving_mean", "moving_variance"}  # BatchNormalization's (batch_normalization.py build)


def layer_variables(node, tfjs_weights, variable_name, used):
    """[(variable name, array, trainable)] of one layer, in build order (keras3_files.var_roles)."""
    out = []
    for role in keras3_files.var_roles(node):
        key = f"{node.name}/{role}"
        if key in used:
            fail(f"{key}: used twice")
        used.add(key)
        out.append((variable_name(node, role), tfjs_weights[key], role not in NON_TRAINABLE))
    return out


def legacy_weights(node, tfjs_weights, variable_name, used):
    """_legacy_weights(layer): layer.trainable_weights + layer.non_trainable_weights. For a nested model these
    gather over its layers in order, so all its trainable variables come first, then all the non-trainable
    ones (every BatchNormalization's moving statistics at the end)."""
    if node.children is None:
        variables = layer_variables(node, tfjs_weights, variable_name, used)
    else:
        if node.cfg.get("trainable", True) is not True:
            fail(f"{node.name}: a frozen nested model orders its weights otherwise; not written")
        variables = [v for inner in node.children.nodes
                     for v in layer_variables(inner, tfjs_weights, variable_name, used)]
    return [(n, a) for n, a, t in variables if t] + [(n, a) for n, a, t in variables if not t]


def model_layers(graph, tfjs_weights, variable_name):
    """model.layers in order (a Functional model's layers include its InputLayer; a nested model is one
    layer), each with its variables in _legacy_weights order."""
    used = set()
    layers = [Layer(node.name, legacy_weights(node, tfjs_weights, variable_name, used)) for node in graph.nodes]
    if used != set(tfjs_weights):
        fail(f"TF.js weights not placed: {sorted(set(tfjs_weights) - used)}")
    return layers


def tf_keras_config(topology):
    """tf.keras Functional.get_config: the JSON TF.js writes is Keras 2's, except that tf.keras >= 2.4 names
    the class Functional where TF.js writes Model."""
    if topology["class_name"] != "Model":
        fail("the family is not a functional model")
    config = copy.deepcopy(topology["config"])
    for layer in nested_models(config):
        layer["class_name"] = "Functional"
    return config


def nested_models(config):
    """The entries of the models nested in a functional config, to any depth."""
    for layer in config["layers"]:
        if layer["class_name"] in ("Model", "Functional"):
            yield layer
            yield from nested_models(layer["config"])


def keras3_legacy_config(keras3_json):
    """Keras 3's get_config under use_legacy_config (the .h5 writer): each layer serialized by
    legacy serialization.serialize_keras_object, {"class_name", "config"} with no module, registered_name or
    build_config, plus name and inbound_nodes, which serialize_node still writes as __keras_tensor__ args.
    The values inside each layer's config (dtype policy, initializers) are get_config's, as in config.json."""
    config = copy.deepcopy(keras3_json["config"])
    strip_keras3_keys(config)
    return config


def strip_keras3_keys(config):
    """Legacy serialization of each layer, a nested model's layers too (the flag holds for the whole call)."""
    for layer in config["layers"]:
        for key in ("module", "registered_name", "build_config"):
            layer.pop(key, None)
        if layer["class_name"] == "Functional":
            strip_keras3_keys(layer["config"])


def rename_layer(config, old, new):
    """A Keras 2 (TF.js-format) config with layer `old` called `new`: its entry and every reference."""
    def ref(entry):
        return [new if entry[0] == old else entry[0]] + list(entry[1:])
    for layer in config["layers"]:
        if layer["name"] == old:
            layer["name"] = layer["config"]["name"] = new
        layer["inbound_nodes"] = [[ref(e) for e in node] for node in layer["inbound_nodes"]]
    config["input_layers"] = [ref(e) for e in config["input_layers"]]
    config["output_layers"] = [ref(e) for e in config["output_layers"]]


def long_name(count):
    """A layer name that makes `count` layer names (padded to the longest, as np.asarray pads) exceed
    HDF5_OBJECT_HEADER_LIMIT: about 2.9 kB for this model's 23 layers."""
    base = LONG_LAYER + "_with_a_name_long_enough_to_split_layer_names"
    return (base + "_" + "x" * (HDF5_OBJECT_HEADER_LIMIT // count + 64))[: HDF5_OBJECT_HEADER_LIMIT // count + 64]


# ------------------------------------------------------------------------------------------- checks

def load_attributes_from_hdf5_group(group, name):
    """legacy_h5_format.load_attributes_from_hdf5_group."""
    def decoded(values):
        return [n.decode("utf8") if hasattr(n, "decode") else n for n in values]
    if name in group.attrs:
        return decoded(group.attrs[name])
    data, chunk_id = [], 0
    while f"{name}{chunk_id}" in group.attrs:
        data.extend(decoded(group.attrs[f"{name}{chunk_id}"]))
        chunk_id += 1
    return data


def check_weights(group, model):
    """load_weights_from_hdf5_group's reading: the layers whose weight_names are not empty, in layer_names
    order, each weight read by name; they must be the model's weighted layers' values, in order."""
    expected = [layer for layer in model.layers if layer.weights]
    names = [n for n in load_attributes_from_hdf5_group(group, "layer_names")
             if load_attributes_from_hdf5_group(group[n], "weight_names")]
    if names != [layer.name for layer in expected]:
        fail(f"{group.file.filename}: weighted layers {names}")
    for name, layer in zip(names, expected):
        g = group[name]
        got = [(w, np.asarray(g[w])) for w in load_attributes_from_hdf5_group(g, "weight_names")]
        if [w for w, _ in got] != [w for w, _ in layer.weights]:
            fail(f"{g.name}: weight_names {[w for w, _ in got]}")
        for (w, value), (_, want) in zip(got, layer.weights):
            if value.dtype != want.dtype or not np.array_equal(value, want):
                fail(f"{g.name}/{w}: not the TF.js weight")


def string_kind(group, name):
    """'vlen-utf8', 'vlen-ascii', 'fixed' or 'float64' (an empty list): the HDF5 type of an attribute."""
    t = group.attrs.get_id(name).get_type()
    if not isinstance(t, h5py.h5t.TypeStringID):
        return str(group.attrs[name].dtype)
    if not t.is_variable_str():
        return "fixed"
    return "vlen-utf8" if t.get_cset() == h5py.h5t.CSET_UTF8 else "vlen-ascii"


def check_types(path, root, expected):
    for where, name, kind in expected:
        group = root[where] if where else root
        if name not in group.attrs:
            fail(f"{path}: {where or '/'} has no attribute {name}")
        if string_kind(group, name) != kind:
            fail(f"{path}: {where or '/'}:{name} is {string_kind(group, name)}, expected {kind}")


def check_file(path, model, weights_at, types):
    with h5py.File(path, "r") as f:
        check_weights(f[weights_at] if weights_at else f, model)
        check_types(path.name, f, types)
        if "model_config" in f.attrs:
            text = f.attrs["model_config"]
            config = json.loads(text.decode("utf8") if hasattr(text, "decode") else text)
            if config != {"class_name": "Functional", "config": model.config}:
                fail(f"{path}: model_config does not read back")


def types_of(kind, full, weighted="conv1", weightless="input_layer", chunked=False):
    """The attribute types expected in a file written with h5py 3 ('vlen') or as h5py 2 did ('fixed')."""
    b = "vlen-ascii" if kind == "vlen" else "fixed"        # bytes, and lists of bytes
    s = "vlen-utf8"                                         # str: the same under both
    w = "model_weights" if full else ""
    layer_names = [(w, "layer_names0", "fixed"), (w, "layer_names1", "fixed")] if chunked else [(w, "layer_names", b)]
    out = layer_names + [(w, "backend", b), (w, "keras_version", b),
                         (f"{w}/{weighted}" if w else weighted, "weight_names", b),
                         (f"{w}/{weightless}" if w else weightless, "weight_names", "float64")]
    if full:
        out += [("", "keras_version", s), ("", "backend", s), ("", "model_config", b)]
    return out


# ------------------------------------------------------------------------------------------- main

def family_models(family):
    """The family's TF.js model as tf.keras and as Keras 3 hold it: configs, layers and variable names."""
    folder = FIXTURES / "families" / family
    topology, tfjs_weights = keras3_files.load_tfjs(folder)
    graph = keras3_files.Graph(topology)
    tf_keras = Model(TF_KERAS_VERSION, tf_keras_config(topology),
                     model_layers(graph, tfjs_weights, lambda node, role: f"{node.name}/{role}:0"))
    keras3_json = json.loads((folder / "config.json").read_text())
    keras3 = Model(KERAS3_VERSION, keras3_legacy_config(keras3_json),
                   model_layers(graph, tfjs_weights,
                                lambda node, role: f"{node.name}/{keras3_variable(node, role)}"))
    return graph, tf_keras, keras3


def chunked_model(graph, tf_keras):
    """tf_keras with LONG_LAYER renamed, its name long enough that layer_names gets split."""
    config = copy.deepcopy(tf_keras.config)
    new = long_name(len(graph.nodes))
    rename_layer(config, LONG_LAYER, new)
    layers = []
    for layer in tf_keras.layers:
        if layer.name == LONG_LAYER:
            layer = Layer(new, [(f"{new}/{w.split('/', 1)[1]}", v) for w, v in layer.weights])
        layers.append(layer)
    return Model(TF_KERAS_VERSION, config, layers)


ADAM_CONFIG = {  # tf_keras/optimizers/optimizer.py and adam.py get_config, the defaults
    "name": "Adam", "weight_decay": None, "clipnorm": None, "global_clipnorm": None, "clipvalue": None,
    "use_ema": False, "ema_momentum": 0.99, "ema_overwrite_frequency": None, "jit_compile": True,
    "is_legacy_optimizer": False, "learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-07,
    "amsgrad": False}


def compiled_model(tf_keras):
    """tf_keras after model.compile(optimizer="adam", loss="categorical_crossentropy") and some training:
      - training_config (saving_utils.model_metadata, Model._get_compile_args(user_metrics=False)): loss,
        metrics, weighted_metrics, loss_weights, and optimizer_config, whose class is "Custom>Adam"
        (adam.py: @register_keras_serializable(), package "Custom");
      - optimizer_weights: optimizer.variables, i.e. "iteration:0" (int64, created in __init__ under
        init_scope, so without the optimizer's name scope), then per trainable variable the slots m and v
        (adam.py build, add_variable_from_reference: name f"{m|v}/{var._shared_name}", created under
        tf.name_scope(optimizer.name) in apply_gradients). The scope prefix is read from the code, not
        observed: TensorFlow cannot run here. gaze ignores both; the file must still load.
    The slot values are seeded noise; the model weights are unchanged, so TF.js's outputs still apply."""
    rng = np.random.default_rng(16)
    trainable = [(name, value) for layer in tf_keras.layers for name, value in layer.weights
                 if name.rsplit("/", 1)[1].split(":")[0] not in NON_TRAINABLE]
    optimizer = [("iteration:0", np.int64(120))]
    for name, value in trainable:
        shared = name.split(":")[0]
        optimizer.append((f"Adam/m/{shared}:0", rng.normal(0, 1e-3, value.shape).astype(np.float32)))
        optimizer.append((f"Adam/v/{shared}:0", rng.uniform(0, 1e-5, value.shape).astype(np.float32)))
    training_config = {"loss": "categorical_crossentropy", "metrics": None, "weighted_metrics": None,
                       "loss_weights": None,
                       "optimizer_config": {"class_name": "Custom>Adam", "config": ADAM_CONFIG}}
    return Model(tf_keras.keras_version, tf_keras.config, tf_keras.layers, training_config, optimizer)


def write_to_json(path, model):
    """tf.keras model.to_json() (training.py _updated_config): json.dumps with the default separators."""
    path.write_text(json.dumps({"class_name": "Functional", "config": model.config,
                                "keras_version": model.keras_version, "backend": BACKEND}))


def main():
    OUT.mkdir(exist_ok=True)
    graph, tf_keras, keras3 = family_models("mobilenet_v1")
    _, nested_tf_keras, nested_keras3 = family_models("finetuned_nested")
    nested = "mobilenet_0.25_96"
    files = [
        ("tf_keras_model.h5", tf_keras, H5py3, True, types_of("vlen", True)),
        ("tf_keras_weights.h5", tf_keras, H5py3, False, types_of("vlen", False)),
        ("keras3_legacy_model.h5", keras3, H5py3, True, types_of("vlen", True)),
        ("keras3_legacy_weights.h5", keras3, H5py3, False, types_of("vlen", False)),
        ("tf_keras_chunked_model.h5", chunked_model(graph, tf_keras), H5py3, True,
         types_of("vlen", True, chunked=True)),
        ("h5py2_model.h5", tf_keras, H5py2, True, types_of("fixed", True)),
        ("tf_keras_compiled_model.h5", compiled_model(tf_keras), H5py3, True,
         types_of("vlen", True) + [("", "training_config", "vlen-ascii"),
                                   ("optimizer_weights", "weight_names", "vlen-ascii")]),
        ("tf_keras_nested_model.h5", nested_tf_keras, H5py3, True, types_of("vlen", True, weighted=nested)),
        ("tf_keras_nested_weights.h5", nested_tf_keras, H5py3, False, types_of("vlen", False, weighted=nested)),
        ("keras3_legacy_nested_model.h5", nested_keras3, H5py3, True, types_of("vlen", True, weighted=nested)),
    ]
    for name, model, h5, full, types in files:
        path = OUT / name
        (save_model_to_hdf5 if full else save_weights_file)(path, model, h5)
        check_file(path, model, "model_weights" if full else "", types)
        print(f"{path.relative_to(FIXTURES.parent.parent)}: {path.stat().st_size} bytes")
    write_to_json(OUT / "tf_keras_model.json", tf_keras)
    write_to_json(OUT / "tf_keras_nested_model.json", nested_tf_keras)


if __name__ == "__main__":
    main()
