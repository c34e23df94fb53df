#!/usr/bin/python3
"""Independent check of the family fixtures: a float64 NumPy forward pass that reads the Keras 3 files.

    /usr/bin/python3 tools/reference/keras3_check.py                # every family
    /usr/bin/python3 tools/reference/keras3_check.py vgg convnext   # these

For each family it loads, separately, model.keras (zip: config.json + model.weights.h5 + metadata.json),
config.json + model.weights.h5, and model_deflated.keras when present. The weights are found the way
keras/src/saving/saving_lib.py _load_state / _load_container_state finds them: layers/<to_snake_case(class)>[_k]
in model.layers order, vars/0, 1, ... in the layer's variable order. It checks, on both reference inputs:
  - the probabilities against reference.json (TF.js, float32) within 1e-5; a Keras 3 file reads hard_sigmoid
    as relu6(x + 3) / 6 (metadata keras_version 3.x), so mobilenet_v3 is compared with reference.json's keras3
    block, and, read with the Keras 2 / TF.js meaning, with the TF.js block;
  - the CAM layer's activation against the TF.js .npy;
  - the TF.js gradients (grad_top, grad_least .npy) by central differences of the float64 logit along random
    directions at the CAM layer: (z(A + h v) - z(A - h v)) / 2h against <grad, v>.
Nothing here shares code with families.js or keras3_files.py.
"""

import ctypes
import io
import json
import math
import re
import sys
import zipfile
from pathlib import Path

import h5py
import numpy as np

FAMILIES = Path(__file__).resolve().parent.parent.parent / "tests" / "fixtures" / "families"
erf = np.vectorize(math.erf)


def snake(name):                                   # keras/src/utils/naming.py to_snake_case
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def read_npy(path):
    a = np.load(path)
    if a.dtype != np.float32:
        raise SystemExit(f"{path}: float32 expected")
    return a


# ------------------------------------------------------------------------------------------- weights

def attach_weights(entry, h5, path, keras3):
    """Give every layer config dict a '_w' list read from h5 at its Keras 3 path (saving_lib._load_state)."""
    entry["_keras3"] = keras3
    cls = entry["class_name"]
    if cls in ("Functional", "Sequential"):
        layers = entry["config"]["layers"]
        if cls == "Sequential":
            layers = [l for l in layers if l["class_name"] != "InputLayer"]   # Sequential.layers
        used = {}
        for layer in layers:
            base = snake(layer["class_name"])
            if base in used:
                used[base] += 1
                base = f"{base}_{used[base]}"
            else:
                used[base] = 0
            attach_weights(layer, h5, f"{path}/layers/{base}" if path else f"layers/{base}", keras3)
        return
    group = h5[f"{path}/vars"]
    entry["_w"] = [np.asarray(group[str(i)][()], dtype=np.float64) for i in range(len(group))]


# ------------------------------------------------------------------------------------------- ops

def same_pads(n, k, s, d):
    out = -(-n // s)
    total = max((out - 1) * s + (k - 1) * d + 1 - n, 0)
    return total // 2, total - total // 2


def window_pad(x, k, s, padding, d=(1, 1), value=0.0):
    if padding == "same":
        (t, b), (l, r) = same_pads(x.shape[0], k[0], s[0], d[0]), same_pads(x.shape[1], k[1], s[1], d[1])
        x = np.pad(x, ((t, b), (l, r), (0, 0)), constant_values=value)
    ho = (x.shape[0] - ((k[0] - 1) * d[0] + 1)) // s[0] + 1
    wo = (x.shape[1] - ((k[1] - 1) * d[1] + 1)) // s[1] + 1
    return x, ho, wo


def taps(x, k, s, d, ho, wo):
    """Yield (i, j, the input slice that tap (i, j) of every output position reads), [ho, wo, C]."""
    for i in range(k[0]):
        for j in range(k[1]):
            yield i, j, x[i * d[0]: i * d[0] + s[0] * (ho - 1) + 1: s[0],
                          j * d[1]: j * d[1] + s[1] * (wo - 1) + 1: s[1], :]


def conv2d(x, kernel, cfg):
    k, s, d, g = cfg["kernel_size"], cfg["strides"], cfg["dilation_rate"], cfg.get("groups", 1)
    x, ho, wo = window_pad(x, k, s, cfg["padding"], d)
    cin_g, cout = kernel.shape[2], kernel.shape[3]
    out = np.zeros((ho, wo, cout))
    per = cout // g
    for i, j, xs in taps(x, k, s, d, ho, wo):
        for gi in range(g):
            out[..., gi * per:(gi + 1) * per] += xs[..., gi * cin_g:(gi + 1) * cin_g] @ kernel[i, j, :, gi * per:(gi + 1) * per]
    return out


def depthwise(x, kernel, cfg):
    k, s, d = cfg["kernel_size"], cfg["strides"], cfg["dilation_rate"]
    x, ho, wo = window_pad(x, k, s, cfg["padding"], d)
    c, m = kernel.shape[2], kernel.shape[3]
    out = np.zeros((ho, wo, c, m))
    for i, j, xs in taps(x, k, s, d, ho, wo):
        out += xs[..., :, None] * kernel[i, j]
    return out.reshape(ho, wo, c * m)               # output channel c * m + j, as tf.nn.depthwise_conv2d


def pool(x, cfg, mode):
    k, s = cfg["pool_size"], cfg["strides"] or cfg["pool_size"]
    xp, ho, wo = window_pad(x, k, s, cfg["padding"], value=-np.inf if mode == "max" else 0.0)
    if mode == "max":
        return np.max([t for _, _, t in taps(xp, k, s, (1, 1), ho, wo)], axis=0)
    if cfg["padding"] != "valid":
        raise SystemExit("average pooling with padding is not used by the families")
    return np.mean([t for _, _, t in taps(xp, k, s, (1, 1), ho, wo)], axis=0)


def activation(name, x, keras3):
    if name == "linear":
        return x
    if name == "relu":
        return np.maximum(x, 0)
    if name == "relu6":
        return np.clip(x, 0, 6)
    if name == "sigmoid":
        return 1 / (1 + np.exp(-x))
    if name == "silu":
        return x / (1 + np.exp(-x))
    if name == "hard_sigmoid":                     # keras/src/activations/activations.py vs Keras 2 / TF.js
        return np.clip(x / 6 + 0.5, 0, 1) if keras3 else np.clip(0.2 * x + 0.5, 0, 1)
    if name == "hard_silu":
        return x * np.clip(x + 3, 0, 6) / 6
    if name == "gelu":
        return 0.5 * x * (1 + erf(x / math.sqrt(2)))
    if name == "softmax":
        e = np.exp(x - x.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)
    raise SystemExit(f"activation {name} not implemented here")


def apply_layer(entry, ins):
    cls, cfg, w, k3 = entry["class_name"], entry["config"], entry.get("_w", []), entry["_keras3"]
    x = ins[0]
    if cls == "Conv2D":
        y = conv2d(x, w[0], cfg) + (w[1] if cfg["use_bias"] else 0)
        return activation(cfg["activation"], y, k3)
    if cls == "DepthwiseConv2D":
        y = depthwise(x, w[0], cfg) + (w[1] if cfg["use_bias"] else 0)
        return activation(cfg["activation"], y, k3)
    if cls == "SeparableConv2D":
        y = depthwise(x, w[0], cfg)
        y = y @ w[1][0, 0] + (w[2] if cfg["use_bias"] else 0)
        return activation(cfg["activation"], y, k3)
    if cls == "BatchNormalization":
        gamma, beta, mean, var = w
        return gamma * (x - mean) / np.sqrt(var + cfg["epsilon"]) + beta
    if cls == "LayerNormalization":
        mu = x.mean(axis=-1, keepdims=True)
        var = ((x - mu) ** 2).mean(axis=-1, keepdims=True)
        return (x - mu) / np.sqrt(var + cfg["epsilon"]) * w[0] + w[1]
    if cls == "Dense":
        return activation(cfg["activation"], x @ w[0] + (w[1] if cfg["use_bias"] else 0), k3)
    if cls == "Activation":
        return activation(cfg["activation"], x, k3)
    if cls == "ReLU":
        y = np.maximum(x, 0)
        return y if cfg["max_value"] is None else np.minimum(y, cfg["max_value"])
    if cls == "Add":
        return sum(ins)
    if cls == "Multiply":
        return ins[0] * ins[1]
    if cls == "Concatenate":
        return np.concatenate(ins, axis=-1)
    if cls == "MaxPooling2D":
        return pool(x, cfg, "max")
    if cls == "AveragePooling2D":
        return pool(x, cfg, "avg")
    if cls == "GlobalAveragePooling2D":
        y = x.mean(axis=(0, 1))
        return y[None, None, :] if cfg["keepdims"] else y
    if cls == "ZeroPadding2D":
        (t, b), (l, r) = cfg["padding"]
        return np.pad(x, ((t, b), (l, r), (0, 0)))
    if cls == "Dropout":
        return x
    if cls == "Flatten":
        return x.reshape(-1)
    if cls == "Reshape":
        return x.reshape(cfg["target_shape"])
    if cls == "Rescaling":
        return x * np.asarray(cfg["scale"]) + cfg["offset"]
    if cls == "Normalization":
        mean, var = (cfg["mean"], cfg["variance"]) if cfg["mean"] is not None else (w[0], w[1])
        return (x - np.asarray(mean)) / np.maximum(np.sqrt(np.asarray(var)), 1e-7)
    raise SystemExit(f"layer class {cls} not implemented here")


def run(entry, x, opt, prefix=""):
    """Evaluate a Functional or Sequential config on one example (no batch axis). opt: collect/override
    a layer path ('outer/inner'), and 'logits' = the input of the top model's final softmax."""
    cls, cfg = entry["class_name"], entry["config"]
    top = prefix == ""

    def one(layer, ins, path):
        if opt.get("override_path") == path:
            return opt["override"]
        if layer["class_name"] in ("Functional", "Sequential"):
            y = run(layer, ins[0], opt, path + "/")
        else:
            y = apply_layer(layer, ins)
        if opt.get("collect") == path:
            opt["collected"] = y
        return y

    def take_logits(layer, ins):
        c, lc = layer["class_name"], layer["config"]
        if c == "Dense" and lc["activation"] == "softmax":
            opt["logits"] = ins[0] @ layer["_w"][0] + layer["_w"][1]
        elif c == "Activation" and lc["activation"] == "softmax":
            opt["logits"] = ins[0]
        else:
            raise SystemExit(f"final layer {lc['name']} has no softmax")

    if cls == "Sequential":
        layers = [l for l in cfg["layers"] if l["class_name"] != "InputLayer"]
        for i, layer in enumerate(layers):
            if top and i == len(layers) - 1:
                take_logits(layer, [x])
            x = one(layer, [x], prefix + layer["config"]["name"])
        return x
    values = {}
    in_name = cfg["input_layers"][0]
    values[in_name] = x
    out_name = cfg["output_layers"][0]
    for layer in cfg["layers"]:
        name = layer["name"]
        if layer["class_name"] == "InputLayer":
            continue
        node = layer["inbound_nodes"][0]
        args = node["args"][0] if isinstance(node["args"][0], list) else node["args"]
        ins = [values[t["config"]["keras_history"][0]] for t in args]
        if top and name == out_name:
            take_logits(layer, ins)
        values[name] = one(layer, ins, prefix + name)
    return values[out_name]


# ------------------------------------------------------------------------------------------- per family

def load_forms(folder):
    """(form name, config dict, keras3 flag) for each Keras 3 form in the folder, weights attached."""
    forms = []
    for name in ("model.keras", "model_deflated.keras"):
        p = folder / name
        if not p.exists():
            continue
        with zipfile.ZipFile(p) as zf:
            meta = json.loads(zf.read("metadata.json"))
            cfg = json.loads(zf.read("config.json"))
            with h5py.File(io.BytesIO(zf.read("model.weights.h5")), "r") as h5:
                keras3 = int(meta["keras_version"].split(".")[0]) >= 3
                attach_weights(cfg, h5, "", keras3)
            kinds = {i.compress_type for i in zf.infolist()}
        forms.append((f"{name} ({'deflated' if zipfile.ZIP_DEFLATED in kinds else 'stored'})", cfg))
    cfg = json.loads((folder / "config.json").read_text())
    with h5py.File(folder / "model.weights.h5", "r") as h5:
        attach_weights(cfg, h5, "", True)   # no metadata.json beside a .weights.h5: read as Keras 3
    forms.append(("config.json + model.weights.h5", cfg))
    return forms


def set_keras3(entry, flag):
    entry["_keras3"] = flag
    for layer in entry.get("config", {}).get("layers", []):
        set_keras3(layer, flag)


LIBC = ctypes.CDLL(None)
LIBC.strtof.restype = ctypes.c_float
LIBC.strtof.argtypes = [ctypes.c_char_p, ctypes.c_void_p]


def check_float_text(folder):
    """Every float32 printed in reference.json (probs, logits) reads back the same by strtof (decimal straight
    to float32) and by strtod then a cast to float32."""
    raw = json.loads((folder / "reference.json").read_text(), parse_float=lambda t: t)
    blocks = [raw["inputs"]] + ([raw["keras3"]["inputs"]] if "keras3" in raw else [])
    n = 0
    for block in blocks:
        for r in block.values():
            for text in r["probs"] + r["logits"]:
                text = str(text)
                direct = np.float32(LIBC.strtof(text.encode(), None))
                if direct != np.float32(float(text)):
                    raise SystemExit(f"{folder.name}: {text} reads as two different float32 values")
                n += 1
    return n


def softmax(z):
    e = np.exp(z - z.max())
    return e / e.sum()


def check_family(folder, rng):
    ref = json.loads((folder / "reference.json").read_text())
    cam = ref["cam_layer"]
    worst = {"probs": 0.0, "act": 0.0, "grad": 0.0}
    forms = load_forms(folder)
    for fi, (form, cfg) in enumerate(forms):
        blocks = [(ref.get("keras3") or ref)["inputs"], ref["inputs"]] if ref.get("keras3") else [ref["inputs"]]
        for bi, block in enumerate(blocks):
            set_keras3(cfg, bi == 0)         # first: the file's own meaning; second: Keras 2 / TF.js meaning
            for name, r in block.items():
                x = read_npy(folder / r["input"]).astype(np.float64)[0]
                opt = {"collect": cam}
                probs = run(cfg, x, opt)
                dp = np.abs(probs - np.asarray(r["probs"])).max()
                if dp > 1e-5:
                    raise SystemExit(f"{folder.name} {form} {name}: probabilities differ by {dp:.3g}")
                if not np.allclose(softmax(opt["logits"]), probs, atol=1e-12):
                    raise SystemExit(f"{folder.name}: logits are not the softmax's input")
                act = opt["collected"]
                tf_act = read_npy(folder / r["activation"]).astype(np.float64)
                da = np.abs(act - tf_act).max() / max(1e-12, np.abs(tf_act).max())
                if da > 1e-5:
                    raise SystemExit(f"{folder.name} {form} {name}: CAM activation differs by {da:.3g} (relative)")
                worst["probs"] = max(worst["probs"], dp)
                worst["act"] = max(worst["act"], da)
                if fi != 0:
                    continue                   # gradients: with the first form, for every block
                for key, cls in (("grad_top", r["top"]), ("grad_least", r["least"])):
                    g = read_npy(folder / r[key]).astype(np.float64)
                    for _ in range(3):
                        v = rng.standard_normal(act.shape)
                        h = 1e-4 * max(1.0, np.abs(act).max())
                        zs = []
                        for sign in (1, -1):
                            o = {"override_path": cam, "override": act + sign * h * v}
                            run(cfg, x, o)
                            zs.append(o["logits"][cls])
                        fd = (zs[0] - zs[1]) / (2 * h)
                        an = float((g * v).sum())
                        err = abs(fd - an) / max(1e-6, abs(fd), abs(an))
                        if err > 1e-3:
                            raise SystemExit(f"{folder.name} {name} {key}: finite difference {fd:.6g} vs TF.js "
                                             f"gradient {an:.6g}")
                        worst["grad"] = max(worst["grad"], err)
    n_text = check_float_text(folder)
    print(f"{folder.name}: {len(forms)} Keras 3 forms; {n_text} printed float32 values read back alike; max |probs - TF.js| {worst['probs']:.2e}, "
          f"CAM activation rel. {worst['act']:.2e}, gradient vs central differences rel. {worst['grad']:.2e}")


def main(argv):
    names = argv or sorted(p.parent.name for p in FAMILIES.glob("*/reference.json"))
    rng = np.random.default_rng(20250610)
    for n in names:
        check_family(FAMILIES / n, rng)


if __name__ == "__main__":
    main(sys.argv[1:])
