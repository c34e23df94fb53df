#!/usr/bin/python3
"""Self-test of torch_keras.py / torch_cam.py on small Keras-layout .h5 files written here with h5py.

    /usr/bin/python3 tools/reference/torch_selftest.py [--tfjs]

1. Writes a small functional model (every layer kind the interpreter knows, 'same' padding with odd
   totals so the extra cell goes bottom/right, non-square sizes and kernels, depthwise with multiplier 2,
   BN with and without gamma, ReLU(6), Add, Concatenate on 4D and 2D tensors, Flatten of a 3x2x16 map,
   GlobalAveragePooling2D) and compares every layer's output, in float64, with a plain NumPy loop
   implementation written from the TensorFlow definitions (no PyTorch in it).
2. Checks layer_gradient() against torch.autograd.gradcheck-style full Jacobians, and fd_check().
3. Checks float32, channels_last and fold_bn against the float64 default.
4. --tfjs: if node and tools/reference/node_modules (@tensorflow/tfjs) are present, also compares the
   asymmetric 'same' ops with TF.js itself, and prints TF.js's AvgPool gradient next to the exact one.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

import h5py
import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from torch_keras import KerasModel, Pool2D, Conv2D  # noqa: E402
import torch_cam  # noqa: E402


# ------------------------------------------------------------------------------------------- .h5 writer

def write_keras_h5(path, layers, weights, input_layer, output_layer):
    """layers: [(name, class_name, config, [input names])]; weights: {name: [(short_name, ndarray)]}."""
    cfg_layers = []
    for name, cls, cfg, ins in layers:
        cfg = dict(cfg, name=name)
        cfg_layers.append({"name": name, "class_name": cls, "config": cfg,
                           "inbound_nodes": [[[i, 0, 0, {}] for i in ins]] if ins else []})
    model_config = {"class_name": "Model", "config": {"name": "m", "layers": cfg_layers,
                                                      "input_layers": [[input_layer, 0, 0]],
                                                      "output_layers": [[output_layer, 0, 0]]}}
    with h5py.File(path, "w") as f:
        f.attrs["model_config"] = json.dumps(model_config).encode()
        f.attrs["keras_version"] = b"2.2.4"
        f.attrs["backend"] = b"tensorflow"
        g = f.create_group("model_weights")
        g.attrs["layer_names"] = np.array([l[0].encode() for l in layers])
        for name, _, _, _ in layers:
            lg = g.create_group(name)
            ws = weights.get(name, [])
            lg.attrs["weight_names"] = np.array([f"{name}/{w}:0".encode() for w, _ in ws])
            for w, v in ws:
                lg.create_dataset(f"{name}/{w}:0", data=v.astype(np.float32))


def synthetic_model(rng):
    L, W = [], {}

    def add(name, cls, cfg, ins, **ws):
        L.append((name, cls, cfg, ins))
        if ws:
            W[name] = list(ws.items())

    r = lambda *s: rng.standard_normal(s).astype(np.float32) * 0.5
    add("in", "InputLayer", {"batch_input_shape": [None, 20, 18, 3], "dtype": "float32"}, [])
    add("zp", "ZeroPadding2D", {"padding": [[1, 0], [0, 2]]}, ["in"])                        # 21x20
    add("c1", "Conv2D", {"filters": 4, "kernel_size": [3, 3], "strides": [2, 2], "padding": "same",
                         "activation": "linear", "use_bias": True}, ["zp"], kernel=r(3, 3, 3, 4), bias=r(4))
    add("bn1", "BatchNormalization", {"axis": 3, "epsilon": 0.001, "center": True, "scale": False}, ["c1"],
        beta=r(4), moving_mean=r(4), moving_variance=np.abs(r(4)) + 0.5)
    add("a1", "Activation", {"activation": "relu"}, ["bn1"])                                 # 11x10x4
    add("dw", "DepthwiseConv2D", {"kernel_size": [3, 3], "strides": [2, 2], "padding": "same",
                                  "depth_multiplier": 2, "activation": "linear", "use_bias": True}, ["a1"],
        depthwise_kernel=r(3, 3, 4, 2), bias=r(8))                                           # 6x5x8
    add("bn2", "BatchNormalization", {"axis": -1, "epsilon": 0.001, "center": True, "scale": True}, ["dw"],
        gamma=r(8) * 4, beta=r(8) * 4, moving_mean=r(8), moving_variance=np.abs(r(8)) + 0.5)
    add("r6", "ReLU", {"max_value": 6.0, "negative_slope": 0.0, "threshold": 0.0}, ["bn2"])
    add("mp", "MaxPooling2D", {"pool_size": [3, 3], "strides": [2, 2], "padding": "same"}, ["bn1"])
    add("c2", "Conv2D", {"filters": 8, "kernel_size": [1, 1], "strides": [1, 1], "padding": "valid",
                         "activation": "linear", "use_bias": False}, ["mp"], kernel=r(1, 1, 4, 8))
    add("sum", "Add", {}, ["r6", "c2"])
    add("ap", "AveragePooling2D", {"pool_size": [3, 3], "strides": [2, 2], "padding": "same"}, ["a1"])
    add("c3", "Conv2D", {"filters": 8, "kernel_size": [1, 2], "strides": [1, 1], "padding": "same",
                         "activation": "relu", "use_bias": True}, ["ap"], kernel=r(1, 2, 4, 8), bias=r(8))
    add("cat", "Concatenate", {"axis": -1}, ["sum", "c3"])                                   # 6x5x16
    add("ap2", "AveragePooling2D", {"pool_size": [2, 2], "strides": [1, 1], "padding": "same"}, ["cat"])
    add("ap3", "AveragePooling2D", {"pool_size": [2, 2], "strides": [2, 2], "padding": "valid"}, ["ap2"])
    add("fl", "Flatten", {}, ["ap3"])                                                        # 3x2x16 = 96
    add("gap", "GlobalAveragePooling2D", {}, ["cat"])
    add("cat2", "Concatenate", {"axis": -1}, ["fl", "gap"])                                  # 112
    add("d1", "Dense", {"units": 6, "activation": "relu", "use_bias": True}, ["cat2"], kernel=r(112, 6), bias=r(6))
    add("dr", "Dropout", {"rate": 0.5}, ["d1"])
    add("d2", "Dense", {"units": 3, "activation": "softmax", "use_bias": True}, ["dr"], kernel=r(6, 3), bias=r(3))
    return L, W


# ------------------------------------------------------------------------------------------- NumPy reference

def np_same(size, k, s):
    out = -(-size // s)
    tot = max((out - 1) * s + k - size, 0)
    return out, tot // 2


def np_conv(x, k, b, s, padding, depthwise=False):
    """x [H,W,C] float64; k [kh,kw,in,out] or depthwise [kh,kw,in,mult]."""
    H, Wd, C = x.shape
    kh, kw = k.shape[:2]
    if padding == "same":
        oh, pt = np_same(H, kh, s[0])
        ow, pl = np_same(Wd, kw, s[1])
    else:
        oh, pt, ow, pl = (H - kh) // s[0] + 1, 0, (Wd - kw) // s[1] + 1, 0
    cout = C * k.shape[3] if depthwise else k.shape[3]
    y = np.zeros((oh, ow, cout))
    for i in range(oh):
        for j in range(ow):
            for di in range(kh):
                for dj in range(kw):
                    r, c = i * s[0] + di - pt, j * s[1] + dj - pl
                    if 0 <= r < H and 0 <= c < Wd:
                        if depthwise:
                            y[i, j] += (x[r, c][:, None] * k[di, dj]).reshape(-1)    # channel c*mult + m
                        else:
                            y[i, j] += x[r, c] @ k[di, dj]
    return y + (b if b is not None else 0)


def np_pool(x, p, s, padding, kind):
    H, Wd, C = x.shape
    if padding == "same":
        oh, pt = np_same(H, p[0], s[0])
        ow, pl = np_same(Wd, p[1], s[1])
    else:
        oh, pt, ow, pl = (H - p[0]) // s[0] + 1, 0, (Wd - p[1]) // s[1] + 1, 0
    y = np.zeros((oh, ow, C))
    for i in range(oh):
        for j in range(ow):
            cells = [x[r, c] for r in range(i * s[0] - pt, i * s[0] - pt + p[0])
                     for c in range(j * s[1] - pl, j * s[1] - pl + p[1]) if 0 <= r < H and 0 <= c < Wd]
            y[i, j] = np.max(cells, axis=0) if kind == "max" else np.mean(cells, axis=0)
    return y


def np_forward(layers, weights, x):
    W = {n: {k: v.astype(np.float64) for k, v in ws} for n, ws in weights.items()}
    v = {}
    for name, cls, cfg, ins in layers:
        a = [v[i] for i in ins]
        w = W.get(name, {})
        if cls == "InputLayer":
            y = x.astype(np.float64)
        elif cls == "ZeroPadding2D":
            (t, b), (l, r) = cfg["padding"]
            y = np.pad(a[0], ((t, b), (l, r), (0, 0)))
        elif cls in ("Conv2D", "DepthwiseConv2D"):
            dw = cls == "DepthwiseConv2D"
            y = np_conv(a[0], w["depthwise_kernel" if dw else "kernel"], w.get("bias"), cfg["strides"],
                        cfg["padding"], dw)
            if cfg["activation"] == "relu":
                y = np.maximum(y, 0)
        elif cls == "BatchNormalization":
            g = w.get("gamma", 1.0)
            be = w.get("beta", 0.0)
            y = (a[0] - w["moving_mean"]) / np.sqrt(w["moving_variance"] + cfg["epsilon"]) * g + be
        elif cls == "Activation":
            y = np.maximum(a[0], 0)
        elif cls == "ReLU":
            y = np.minimum(np.maximum(a[0], 0), cfg["max_value"])
        elif cls in ("MaxPooling2D", "AveragePooling2D"):
            y = np_pool(a[0], cfg["pool_size"], cfg["strides"], cfg["padding"], "max" if cls[0] == "M" else "avg")
        elif cls == "Add":
            y = a[0] + a[1]
        elif cls == "Concatenate":
            y = np.concatenate(a, axis=-1)
        elif cls == "Flatten":
            y = a[0].reshape(-1)                                 # HWC order
        elif cls == "GlobalAveragePooling2D":
            y = a[0].mean(axis=(0, 1))
        elif cls == "Dense":
            z = a[0] @ w["kernel"] + w["bias"]
            v[name + ":pre"] = z
            if cfg["activation"] == "relu":
                y = np.maximum(z, 0)
            else:
                e = np.exp(z - z.max())
                y = e / e.sum()
        elif cls == "Dropout":
            y = a[0]
        else:
            raise NotImplementedError(cls)
        v[name] = y
    return v


# ------------------------------------------------------------------------------------------- TF.js check

TFJS_SCRIPT = r"""
const tf = require('@tensorflow/tfjs');
(async () => {
  await tf.setBackend('cpu');
  const inp = JSON.parse(require('fs').readFileSync(process.argv[2], 'utf8'));
  const x = tf.tensor4d(inp.x, inp.xshape);
  const out = {};
  const k = tf.tensor4d(inp.k, inp.kshape);
  out.conv = await tf.conv2d(x, k, [2, 2], 'same').array();
  const dk = tf.tensor4d(inp.dk, inp.dkshape);
  out.dw = await tf.depthwiseConv2d(x, dk, [2, 2], 'same').array();
  out.max = await tf.maxPool(x, [3, 3], [2, 2], 'same').array();
  out.avg = await tf.avgPool(x, [3, 3], [2, 2], 'same').array();
  out.avg2 = await tf.avgPool(x, [2, 2], [1, 1], 'same').array();
  const dy = tf.tensor4d(inp.dy, inp.dyshape);
  out.avg_grad = await tf.grad(v => tf.avgPool(v, [3, 3], [1, 1], 'same').mul(dy).sum())(x).array();
  console.log(JSON.stringify(out));
})();
"""


def tfjs_check(rng):
    node = shutil.which("node")
    if node is None or not os.path.isdir(os.path.join(HERE, "node_modules", "@tensorflow", "tfjs")):
        print("tfjs: skipped (no node or no tools/reference/node_modules)")
        return True
    x = rng.standard_normal((1, 6, 5, 4)).astype(np.float32)
    k = rng.standard_normal((3, 3, 4, 3)).astype(np.float32)
    dk = rng.standard_normal((3, 3, 4, 2)).astype(np.float32)
    dy = rng.standard_normal((1, 6, 5, 4)).astype(np.float32)
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "in.json")
        with open(p, "w") as f:
            json.dump({"x": x.tolist(), "xshape": x.shape, "k": k.tolist(), "kshape": k.shape,
                       "dk": dk.tolist(), "dkshape": dk.shape, "dy": dy.tolist(), "dyshape": dy.shape}, f)
        js = os.path.join(d, "check.js")
        with open(js, "w") as f:
            f.write(TFJS_SCRIPT)
        env = dict(os.environ, NODE_PATH=os.path.join(HERE, "node_modules"))
        r = subprocess.run([node, js, p], capture_output=True, text=True, env=env, cwd=HERE, timeout=120)
    if r.returncode != 0:
        print("tfjs: failed to run:", r.stderr[-500:])
        return False
    t = {k_: np.array(v) for k_, v in json.loads(r.stdout.strip().splitlines()[-1]).items()}
    xt = torch.from_numpy(x.astype(np.float64)).permute(0, 3, 1, 2)
    nhwc = lambda y: y.permute(0, 2, 3, 1).detach().numpy()
    conv = Conv2D("c", {"kernel_size": [3, 3], "strides": [2, 2], "padding": "same", "activation": "linear",
                        "use_bias": False}, {"kernel": k}).double()
    dwm = Conv2D("d", {"kernel_size": [3, 3], "strides": [2, 2], "padding": "same", "activation": "linear",
                       "use_bias": False}, {"depthwise_kernel": dk}, depthwise=True).double()
    ours = {
        "conv": nhwc(conv(xt)), "dw": nhwc(dwm(xt)),
        "max": nhwc(Pool2D("m", {"pool_size": [3, 3], "strides": [2, 2], "padding": "same"}, "max")(xt)),
        "avg": nhwc(Pool2D("a", {"pool_size": [3, 3], "strides": [2, 2], "padding": "same"}, "avg")(xt)),
        "avg2": nhwc(Pool2D("a", {"pool_size": [2, 2], "strides": [1, 1], "padding": "same"}, "avg")(xt)),
    }
    ok = True
    for key, v in ours.items():
        err = np.abs(v - t[key]).max()
        good = v.shape == t[key].shape and err < 1e-5
        ok &= good
        print(f"tfjs {key:5s} {str(v.shape):16s} max |torch - tfjs| {err:.2e} {'ok' if good else 'MISMATCH'}")
    # AvgPool gradient, 3x3 stride 1 'same' (the InceptionV3 branch pool)
    for mode in ("exact", "tfjs"):
        xg = xt.clone().requires_grad_(True)
        y = Pool2D("a", {"pool_size": [3, 3], "strides": [1, 1], "padding": "same"}, "avg", avgpool_grad=mode)(xg)
        (gx,) = torch.autograd.grad(y, xg, torch.from_numpy(dy.astype(np.float64)).permute(0, 3, 1, 2))
        err = np.abs(nhwc(gx) - t["avg_grad"])
        print(f"tfjs avgPool 3x3/1 'same' gradient vs our '{mode}' gradient: max abs diff {err.max():.2e}; "
              f"interior cells {err[:, 2:-2, 2:-2].max():.2e}")
    # and the exact gradient is the adjoint of the forward pass (finite differences)
    xg = xt.clone().requires_grad_(True)
    pool = Pool2D("a", {"pool_size": [3, 3], "strides": [1, 1], "padding": "same"}, "avg")
    dyt = torch.from_numpy(dy.astype(np.float64)).permute(0, 3, 1, 2)
    ok_adj = torch.autograd.gradcheck(lambda v: (pool(v) * dyt).sum(), (xg,))
    print(f"exact avgPool gradient passes gradcheck: {ok_adj}")
    return ok and ok_adj


# ------------------------------------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tfjs", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(1)
    rng = np.random.default_rng(1234)
    layers, weights = synthetic_model(rng)
    ok = True
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "synthetic.h5")
        write_keras_h5(path, layers, weights, "in", "d2")
        x = rng.standard_normal((1, 20, 18, 3)).astype(np.float32)
        ref = np_forward(layers, weights, x[0])
        m64 = KerasModel.from_h5(path, dtype=torch.float64)
        names = [l[0] for l in layers]
        with torch.no_grad():
            out = m64(x, capture=names)
        worst = 0.0
        for n in names:
            got = out.outputs[n][0].numpy()
            if got.shape != ref[n].shape:
                print(f"layer {n}: shape {got.shape} != numpy {ref[n].shape}")
                ok = False
                continue
            err = np.abs(got - ref[n]).max() / max(1.0, np.abs(ref[n]).max())
            worst = max(worst, err)
            if err > 1e-12:
                print(f"layer {n}: max rel diff {err:.2e} MISMATCH")
                ok = False
        lerr = np.abs(out.logits[0].numpy() - ref["d2:pre"]).max()
        print(f"1. every layer vs the NumPy loops (float64): max rel diff {worst:.2e}; logits {lerr:.2e}")
        ok &= lerr < 1e-12

        # 2. gradients: layer_gradient vs the full Jacobian through torch.autograd.gradcheck, and fd_check
        for layer in ("cat", "a1", "r6"):
            front = m64.frontier([layer])
            with torch.no_grad():
                o = m64.run(x, capture=[layer, *front])
            A = o.outputs[layer].clone().requires_grad_(True)
            base = {k: v for k, v in o.outputs.items() if k != layer}
            gc = torch.autograd.gradcheck(lambda a: m64.forward_from(layer, a, base).logits, (A,), eps=1e-6,
                                          atol=1e-7, rtol=1e-5)
            A2, G2, probs2, _ = m64.layer_gradient(x, layer, 1)
            # the same gradient from one recorded pass from the input
            xin = torch.from_numpy(x.astype(np.float64)).requires_grad_(True)
            with torch.enable_grad():
                o3 = m64.run(xin, capture=[layer], internal=True)
                (g3,) = torch.autograd.grad(o3.logits[0, 1], o3.outputs[layer])
            gerr = (G2 - m64.to_nhwc(g3)).abs().max().item()
            fd = torch_cam.fd_check(m64, x, layer, 1, A2, G2, n=10, verbose=False)
            print(f"2. layer {layer:3s} (frontier {front}): gradcheck {gc}, layer_gradient vs full pass "
                  f"{gerr:.1e}, fd-check max rel err {fd['max_rel_err']:.1e}")
            ok &= gc and gerr < 1e-12 and fd["max_rel_err"] < 1e-6

        # Grad-CAM / Grad-CAM++ against the formulas written with numpy
        d_ = torch_cam.compute(m64, x, "cat", "least")
        A_, G_ = d_["activations"][0].numpy(), d_["grads"][0].numpy()
        cam = np.maximum((A_ * G_.mean(axis=(0, 1))).sum(-1), 0)
        den = 2 * G_ ** 2 + A_.sum(axis=(0, 1)) * G_ ** 3
        with np.errstate(divide="ignore", invalid="ignore"):
            alpha = np.where(den != 0, G_ ** 2 / den, 0.0)
        campp = np.maximum((A_ * (alpha * np.maximum(G_, 0)).sum(axis=(0, 1))).sum(-1), 0)
        e1 = np.abs(cam - d_["gradcam"].numpy()).max()
        e2 = np.abs(campp - d_["gradcampp"].numpy()).max()
        print(f"   Grad-CAM vs numpy {e1:.1e}, Grad-CAM++ vs numpy {e2:.1e} (class {d_['class_index']})")
        ok &= e1 < 1e-12 * max(1.0, cam.max()) and e2 < 1e-12 * max(1.0, campp.max())

        # 3. variants
        for kw in (dict(dtype=torch.float32), dict(dtype=torch.float64, channels_last=True),
                   dict(dtype=torch.float64, fold_bn=True), dict(dtype=torch.float32, channels_last=True, fold_bn=True)):
            m = KerasModel.from_h5(path, **kw)
            with torch.no_grad():
                o = m(x, capture=["cat"])
            e = max(np.abs(o.logits.double().numpy() - out.logits.numpy()).max(),
                    np.abs(o.outputs["cat"].double().numpy() - out.outputs["cat"].numpy()).max())
            tol = 1e-4 if kw["dtype"] == torch.float32 else 1e-12
            print(f"3. {kw}: max diff vs float64 {e:.1e} (folded: {sorted(m.folded)})")
            ok &= e < tol
    if args.tfjs:
        ok &= tfjs_check(rng)
    print("SELFTEST", "PASSED" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
