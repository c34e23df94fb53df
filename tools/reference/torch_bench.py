#!/usr/bin/python3
"""Times the PyTorch reference (torch_keras.py) on the same work as `gaze bench`, for tools/bench.sh.

    /usr/bin/python3 tools/reference/torch_bench.py [--variant V] [--threads T] [--runs N] [--warmup W] [--json]
        [--model models/nsfwjs_inception_v3.h5] [--input tests/fixtures/npy/astronaut_299_inception_v3.npy]

Variants (how torch_keras.KerasModel is built; all float32):
  nchw                   contiguous NCHW tensors, BatchNormalization applied as its own layer
  channels_last          channels_last memory format
  nchw_foldbn            NCHW, each BatchNormalization folded into the convolution before it
  channels_last_foldbn   both

What is timed, one call each (the definitions of `gaze bench`):
  forward             one no-grad forward pass of the [1,299,299,3] input to the probabilities
  gradcam_<L>         a no-grad pass up to layer L only, L's output made a leaf that requires grad, the
                      recorded pass from L to the output, backward from the top class's pre-softmax logit,
                      then the Grad-CAM map: w = mean over cells of the gradient, relu(sum_k w_k A_k)
  gradcampp_<L0>      the same at the first layer of --layers, with the Grad-CAM++ map
Each is called W times (warm-up), then N times timed with time.perf_counter; the JSON gives the median, min,
max, p10 and p90 (linear interpolation between order statistics) in milliseconds. The input is converted to a
torch tensor once, outside the timing (the layout change NHWC -> internal is inside, as in a user's call).

Before timing, the script checks its timed Grad-CAM against torch_cam.compute (the fixtures' code path), and,
when `gaze classify` works, compares the probabilities with gaze's (max |diff| -> "checked_against_gaze";
a warning on stderr above 1e-4 or when gaze is unavailable).

peak_rss_mb is the peak RSS of a separate process doing what a user would: torch_cam.py loads the .h5 into the
reference (with this variant's flags and --threads) and computes one Grad-CAM at the first layer (--maps-only);
it is ru_maxrss of that child (os.wait4), KiB / 1024.

The thread count is set with torch.set_num_threads(T) and torch.set_num_interop_threads(1);
OMP_NUM_THREADS and OPENBLAS_NUM_THREADS are set to T before torch is imported (torch's BLAS, OpenBLAS,
runs 1x1 convolutions at one thread).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
VARIANTS = {                       # name: (channels_last, fold_bn)
    "nchw": (False, False),
    "channels_last": (True, False),
    "nchw_foldbn": (False, True),
    "channels_last_foldbn": (True, True),
}
DEFAULT_MODEL = os.path.join(ROOT, "models", "nsfwjs_inception_v3.h5")
DEFAULT_INPUT = os.path.join(ROOT, "tests", "fixtures", "npy", "astronaut_299_inception_v3.npy")
DEFAULT_GAZE = os.path.join(ROOT, "build", "gaze")
GAZE_TOLERANCE = 1e-4


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=DEFAULT_MODEL, help="Keras .h5 model (default %(default)s)")
    ap.add_argument("--input", default=DEFAULT_INPUT, help="preprocessed float32 .npy input (default %(default)s)")
    ap.add_argument("--variant", choices=list(VARIANTS), default="channels_last_foldbn")
    ap.add_argument("--threads", type=int, default=1, help="intra-op threads (default 1)")
    ap.add_argument("--runs", type=int, default=20, help="timed calls per measurement (default 20)")
    ap.add_argument("--warmup", type=int, default=3, help="untimed calls before them (default 3)")
    ap.add_argument("--layers", default="mixed10,mixed7",
                    help="Grad-CAM layers, comma-separated; Grad-CAM++ is timed at the first (default %(default)s)")
    ap.add_argument("--gaze", default=DEFAULT_GAZE,
                    help="gaze binary for the probability check, or 'none' to skip it (default %(default)s)")
    ap.add_argument("--no-rss", action="store_true", help="skip the peak-RSS child process (peak_rss_mb: null)")
    ap.add_argument("--json", action="store_true", help="print one JSON line (the format of `gaze bench --json`)")
    args = ap.parse_args(argv)
    if args.threads < 1 or args.runs < 1 or args.warmup < 0:
        ap.error("--threads and --runs must be >= 1, --warmup >= 0")
    args.layers = [s for s in args.layers.split(",") if s]
    if not args.layers:
        ap.error("--layers is empty")
    return args


ARGS = parse_args() if __name__ == "__main__" else None
if ARGS is not None:                               # before torch (and its OpenMP / OpenBLAS) is loaded
    os.environ["OMP_NUM_THREADS"] = str(ARGS.threads)
    os.environ["OPENBLAS_NUM_THREADS"] = str(ARGS.threads)

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, HERE)
from torch_keras import KerasModel  # noqa: E402
import torch_cam  # noqa: E402


def warn(msg):
    print(f"torch_bench: warning: {msg}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------------------ timing

def stats(ts_ms):
    a = np.asarray(ts_ms, dtype=np.float64)
    r = lambda v: round(float(v), 3)  # noqa: E731
    return {"median": r(np.median(a)), "min": r(a.min()), "max": r(a.max()), "p10": r(np.percentile(a, 10)),
            "p90": r(np.percentile(a, 90)), "runs": int(a.size)}


def timed(fn, runs, warmup):
    for _ in range(warmup):
        fn()
    ts = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        ts.append((time.perf_counter() - t0) * 1e3)
    return stats(ts)


# ------------------------------------------------------------------------------------------------ the calls

def prefix_plan(model, names):
    """The nodes that `names` depend on, in order, and where each value is read for the last time."""
    need, stack = set(), list(names)
    while stack:
        n = stack.pop()
        if n not in need:
            need.add(n)
            stack.extend(model.inputs_of[n])
    order = [(n, cls, ins) for n, cls, _, ins in model.nodes if n in need]
    last_use = {}
    for pos, (_, _, ins) in enumerate(order):
        for i in ins:
            last_use[i] = pos
    return order, last_use, list(names)


def run_prefix(model, plan, x):
    """Values (NHWC views) of the plan's layers, computing nothing downstream of them. Call under no_grad."""
    order, last_use, names = plan
    vals = {}
    for pos, (name, cls, ins) in enumerate(order):
        if cls == "InputLayer":
            vals[name] = model.to_internal(x)
        else:
            vals[name] = model.layer(name)(*[vals[i] for i in ins])
        for i in ins:
            if last_use[i] == pos and i not in names:
                del vals[i]
    return {n: model.to_nhwc(vals[n]) for n in names}


def make_forward(model, x):
    def forward():
        with torch.no_grad():
            return model(x).probs
    return forward


def make_cam(model, x, layer, method):
    """One Grad-CAM (method 'gradcam') or Grad-CAM++ ('gradcampp') call: returns (map [h,w], top class)."""
    if layer not in model.layer_names:
        raise SystemExit(f"torch_bench: error: no layer {layer!r} in the model")
    front = model.frontier([layer])                      # empty for Inception's mixedN
    plan = prefix_plan(model, [layer, *front])
    cam_fn = torch_cam.gradcam if method == "gradcam" else torch_cam.gradcampp

    def cam():
        with torch.no_grad():
            vals = run_prefix(model, plan, x)
        A = vals.pop(layer).detach().requires_grad_(True)   # the leaf; everything downstream is recorded
        out = model.forward_from(layer, A, vals)
        k = int(torch.argmax(out.probs[0]))
        (G,) = torch.autograd.grad(out.logits[0, k], A)
        with torch.no_grad():
            m, _ = cam_fn(A.detach(), G)
        return m, k
    return cam


def self_check(model, x, cams):
    """The timed Grad-CAM calls give what torch_cam.compute (the fixtures' code path) gives."""
    for (layer, method), fn in cams.items():
        m, k = fn()
        ref = torch_cam.compute(model, x, layer, "top")
        r = ref[method]
        err = float((m - r).abs().max()) / max(float(r.abs().max()), 1e-30)
        if k != ref["class_index"] or err > 1e-5:
            raise SystemExit(f"torch_bench: error: the timed {method} at {layer} differs from torch_cam.compute "
                             f"(class {k} vs {ref['class_index']}, relative max diff {err:.2e})")


# ------------------------------------------------------------------------------------------------ side runs

def check_against_gaze(gaze, model_path, input_path, probs):
    """max |p_torch - p_gaze| over all classes from `gaze classify --json --top 0`, or None."""
    if gaze in ("", "none"):
        return None
    if not os.access(gaze, os.X_OK):
        warn(f"{gaze} is not there: the probabilities were not checked against gaze")
        return None
    cmd = [gaze, "classify", "--json", "--top", "0", "--model", model_path, input_path]
    try:
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=300)
        if r.returncode != 0:
            raise RuntimeError(r.stderr.strip().splitlines()[-1] if r.stderr.strip() else f"exit {r.returncode}")
        preds = json.loads(r.stdout.strip().splitlines()[0])["predictions"]
        g = np.full(probs.numel(), np.nan)
        for p in preds:
            g[int(p["index"])] = float(p["prob"])
        if np.isnan(g).any():
            raise RuntimeError(f"it printed {len(preds)} of {probs.numel()} classes")
    except Exception as e:  # noqa: BLE001 -- any failure only means "not checked"
        warn(f"'{' '.join(cmd)}' failed ({e}): the probabilities were not checked against gaze")
        return None
    diff = float(np.abs(probs.double().numpy() - g).max())
    if diff > GAZE_TOLERANCE:
        warn(f"PyTorch and gaze probabilities differ by {diff:.3g} (> {GAZE_TOLERANCE:g}) on {input_path}")
    return diff


def peak_rss_mb(args, layer):
    """Peak RSS of a separate torch_cam.py run: load the .h5, one Grad-CAM at `layer`.

    Measured by /usr/bin/time -f %M (as gaze bench does): a child spawned straight from this
    process (vfork + exec) inherits this process's high-water mark into its ru_maxrss."""
    channels_last, fold_bn = VARIANTS[args.variant]
    with tempfile.TemporaryDirectory(prefix="torch_bench.") as tmp:
        cmd = [sys.executable, os.path.join(HERE, "torch_cam.py"), args.model, args.input, "--layer", layer,
               "--maps-only", "--out", os.path.join(tmp, "cam.npz"), "--threads", str(args.threads)]
        cmd += ["--channels-last"] if channels_last else []
        cmd += ["--fold-bn"] if fold_bn else []
        report = os.path.join(tmp, "time")
        cmd = ["/usr/bin/time", "-f", "%M", "-o", report] + cmd
        with open(os.path.join(tmp, "stderr"), "w+") as err:
            p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=err)
            if p.returncode != 0:
                err.seek(0)
                raise SystemExit(f"torch_bench: error: {' '.join(cmd)} failed (exit {p.returncode}):\n{err.read()}")
        with open(report) as f:
            kib = int(f.read().split()[-1])
    return round(kib / 1024.0, 1)


# ------------------------------------------------------------------------------------------------ main

def main(args):
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    channels_last, fold_bn = VARIANTS[args.variant]
    t0 = time.perf_counter()
    model = KerasModel.from_h5(args.model, dtype=torch.float32, channels_last=channels_last, fold_bn=fold_bn)
    load_ms = (time.perf_counter() - t0) * 1e3
    x = torch.from_numpy(np.ascontiguousarray(torch_cam.load_input(args.input), dtype=np.float32))

    forward = make_forward(model, x)
    cams = {(layer, "gradcam"): make_cam(model, x, layer, "gradcam") for layer in args.layers}
    cams[(args.layers[0], "gradcampp")] = make_cam(model, x, args.layers[0], "gradcampp")
    probs = forward()[0]
    checked = check_against_gaze(args.gaze, args.model, args.input, probs)
    self_check(model, x, cams)

    res = {"tool": "pytorch", "variant": args.variant, "threads": args.threads, "model": os.path.abspath(args.model),
           "input_shape": list(x.shape), "forward_ms": timed(forward, args.runs, args.warmup)}
    for (layer, method), fn in cams.items():
        res[f"{method}_{layer}_ms"] = timed(fn, args.runs, args.warmup)
    res["peak_rss_mb"] = None if args.no_rss else peak_rss_mb(args, args.layers[0])
    res.update({"conv_gflops": None, "sgemm_gflops": None, "checked_against_gaze": checked,
                "top_class": int(torch.argmax(probs)), "load_ms": round(load_ms, 1), "torch_version": torch.__version__,
                "input": os.path.abspath(args.input)})
    if args.json:
        print(json.dumps(res), flush=True)
        return
    print(f"PyTorch {torch.__version__}, variant {args.variant}, {args.threads} thread(s), {args.runs} runs after "
          f"{args.warmup} warm-up; model loaded in {load_ms:.0f} ms")
    for k, v in res.items():
        if k.endswith("_ms") and isinstance(v, dict):
            print(f"  {k[:-3]:<22} median {v['median']:8.1f} ms  (min {v['min']:.1f}, p10 {v['p10']:.1f}, "
                  f"p90 {v['p90']:.1f}, max {v['max']:.1f})")
    if res["peak_rss_mb"] is not None:
        print(f"  peak RSS of a one-image torch_cam.py: {res['peak_rss_mb']:.0f} MB")
    print(f"  max |p - gaze's p|: {'not checked' if checked is None else f'{checked:.2g}'}")


if __name__ == "__main__":
    main(ARGS)
