#!/usr/bin/python3
"""Grad-CAM and Grad-CAM++ of a Keras .h5 model, computed with PyTorch autograd (independent reference for gaze).

    /usr/bin/python3 tools/reference/torch_cam.py MODEL.h5 INPUT.npy --layer mixed10 --class-index K \
        --out OUT.npz [--dtype float64] [--fd-check]

INPUT.npy is one preprocessed image, float32 [H,W,3] (or [1,H,W,3]). K is a class index, or `top` / `least`
(the most / least probable class). At the layer, with A its output (NHWC, batch 1) and
G = d logit_K / d A (logit = pre-softmax score of the output Dense):
  Grad-CAM:   w_k = mean_ij G_kij;                                   map = relu(sum_k w_k A_k)      [h,w]
  Grad-CAM++: alpha_kij = G^2 / (2 G^2 + (sum_ab A_kab) G^3), 0 where that denominator is 0;
              w_k = sum_ij alpha_kij relu(G_kij);                    map = relu(sum_k w_k A_k)      [h,w]
The maps are raw (not normalized, not resized). The .npz holds: activations, grads [1,h,w,C] (unless
--maps-only), gradcam, gradcampp [h,w], weights_gradcam, weights_gradcampp [C], probs, logits [classes],
class_index, layer.
--fd-check (float64): compares G with central finite differences of the logit at ~20 random entries of A,
re-running the network from the layer onward with the perturbed A, and prints the max relative error.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_keras import KerasModel  # noqa: E402


def gradcam(A, G):
    """A, G: [1,h,w,C] tensors. Returns (map [h,w], weights [C])."""
    w = G[0].mean(dim=(0, 1))
    return torch.relu((A[0] * w).sum(dim=-1)), w


def gradcampp(A, G):
    g2 = G[0] * G[0]
    g3 = g2 * G[0]
    s = A[0].sum(dim=(0, 1))                                     # sum_ab A_kab, per channel
    denom = 2 * g2 + s * g3
    alpha = torch.where(denom != 0, g2 / torch.where(denom != 0, denom, torch.ones_like(denom)),
                        torch.zeros_like(denom))
    w = (alpha * torch.relu(G[0])).sum(dim=(0, 1))
    return torch.relu((A[0] * w).sum(dim=-1)), w


def load_input(path):
    x = np.load(path)
    if x.ndim == 3:
        x = x[None]
    if x.ndim != 4 or x.shape[0] != 1:
        raise ValueError(f"{path}: expected [H,W,C] or [1,H,W,C], got {x.shape}")
    return x


def resolve_class(spec, probs):
    p = probs.reshape(-1)
    if spec in ("top", "top1"):
        return int(torch.argmax(p))
    if spec in ("least", "bottom"):
        return int(torch.argmin(p))
    k = int(spec)
    if not 0 <= k < p.numel():
        raise ValueError(f"class index {k} out of range [0, {p.numel()})")
    return k


def compute(model, x, layer, class_index):
    """Returns a dict of tensors for one image/layer/class (class_index may be 'top'/'least')."""
    if layer not in model.layer_names:
        raise KeyError(f"no layer {layer!r} in the model")
    if isinstance(class_index, str) and class_index in ("top", "top1", "least", "bottom"):
        with torch.no_grad():
            class_index = resolve_class(class_index, model(x).probs)
    else:
        class_index = int(class_index)
    A, G, probs, logits = model.layer_gradient(x, layer, class_index)
    if A.dim() != 4:
        raise ValueError(f"layer {layer} output is not 4D: {tuple(A.shape)}")
    cam, w = gradcam(A, G)
    campp, wpp = gradcampp(A, G)
    return dict(activations=A, grads=G, gradcam=cam, gradcampp=campp, weights_gradcam=w,
                weights_gradcampp=wpp, probs=probs[0], logits=logits[0], class_index=class_index, layer=layer)


def fd_check(model, x, layer, class_index, A, G, n=20, rel_step=1e-5, seed=0, verbose=True):
    """Central differences of logit[class_index] w.r.t. n entries of A (NHWC), against G.
    Entries are drawn among the non-zero activations (half uniformly, half among the largest |G|), because
    at A = 0 a ReLU'd activation usually sits on a max-pool tie, where the logit is not differentiable.
    The network after the layer is piecewise linear (ReLU, pooling, conv, BN, Dense) for Inception, so the
    differences are exact up to round-off unless a step crosses a kink; the step is rel_step * max(1, |A|)."""
    if model.dtype != torch.float64:
        raise ValueError("--fd-check needs --dtype float64")
    with torch.no_grad():
        front = model.frontier([layer])
        base = model.run(x, capture=front).outputs if front else {}
        a = A.reshape(-1)
        g = G.reshape(-1)
        rng = np.random.default_rng(seed)
        nz = torch.nonzero(a != 0).reshape(-1).numpy()
        if nz.size == 0:
            raise ValueError("the layer's activations are all zero")
        pick = list(rng.choice(nz, size=min(n - n // 2, nz.size), replace=False))
        order = nz[np.argsort(-np.abs(g[nz].numpy()), kind="stable")]
        top = [i for i in order[: max(4 * n, 1)] if i not in pick]
        pick += list(rng.choice(top, size=min(n // 2, len(top)), replace=False)) if top else []
        gmax = float(g.abs().max())
        rows = []
        for idx in pick:
            idx = int(idx)
            h = rel_step * max(1.0, abs(float(a[idx])))
            vals = []
            for sgn in (+1, -1):
                Ap = A.clone().reshape(-1)
                Ap[idx] += sgn * h
                vals.append(float(model.forward_from(layer, Ap.reshape(A.shape), base).logits[0, class_index]))
            fd = (vals[0] - vals[1]) / (2 * h)
            ag = float(g[idx])
            err = abs(fd - ag)
            rel = err / max(abs(fd), abs(ag), 1e-6 * gmax, 1e-300)
            pos = np.unravel_index(idx, tuple(A.shape))
            rows.append(dict(index=[int(v) for v in pos], a=float(a[idx]), autograd=ag, fd=fd, abs_err=err,
                             rel_err=rel))
    res = dict(n=len(rows), max_rel_err=max(r["rel_err"] for r in rows), max_abs_err=max(r["abs_err"] for r in rows),
               max_abs_grad=gmax, rows=rows)
    if verbose:
        print(f"fd-check {layer} class {class_index}: {len(rows)} entries, step {rel_step:g}*max(1,|A|)")
        print(f"  {'n,i,j,c':>18} {'A':>12} {'autograd':>14} {'finite diff':>14} {'rel err':>9}")
        for r in rows:
            print(f"  {str(tuple(r['index'])):>18} {r['a']:12.5g} {r['autograd']:14.6e} {r['fd']:14.6e} "
                  f"{r['rel_err']:9.2e}")
        print(f"  max relative error {res['max_rel_err']:.3e} (max abs error {res['max_abs_err']:.3e}, "
              f"max |G| {gmax:.3e})")
    return res


def to_numpy(d, maps_only=False):
    out = {}
    for k, v in d.items():
        if maps_only and k in ("activations", "grads"):
            continue
        out[k] = v.numpy() if isinstance(v, torch.Tensor) else np.asarray(v)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("input")
    ap.add_argument("--layer", required=True)
    ap.add_argument("--class-index", default="top", help="an index, or 'top' / 'least' (default top)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    ap.add_argument("--fd-check", action="store_true")
    ap.add_argument("--fd-n", type=int, default=20)
    ap.add_argument("--fd-step", type=float, default=1e-5)
    ap.add_argument("--fd-seed", type=int, default=0)
    ap.add_argument("--maps-only", action="store_true", help="leave activations and grads out of the .npz")
    ap.add_argument("--channels-last", action="store_true")
    ap.add_argument("--fold-bn", action="store_true")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)

    torch.set_num_threads(args.threads)
    dtype = torch.float64 if args.dtype == "float64" else torch.float32
    if args.fd_check and dtype != torch.float64:
        ap.error("--fd-check needs --dtype float64")
    model = KerasModel.from_h5(args.model, dtype=dtype, channels_last=args.channels_last, fold_bn=args.fold_bn)
    x = load_input(args.input)
    t0 = time.time()
    d = compute(model, x, args.layer, args.class_index)
    t1 = time.time()
    K = d["class_index"]
    print(f"{os.path.basename(args.input)} {args.layer} class {K}: probs {np.array2string(d['probs'].numpy(), precision=6)}"
          f" logit {float(d['logits'][K]):.6f}; A {tuple(d['activations'].shape)}; "
          f"gradcam max {float(d['gradcam'].max()):.6g}, gradcam++ max {float(d['gradcampp'].max()):.6g} ({t1 - t0:.2f} s)")
    out = to_numpy(d, args.maps_only)
    if args.fd_check:
        r = fd_check(model, x, args.layer, K, d["activations"], d["grads"], n=args.fd_n, rel_step=args.fd_step,
                     seed=args.fd_seed)
        out["fd_max_rel_err"] = np.float64(r["max_rel_err"])
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    np.savez(args.out, **out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
