#!/usr/bin/python3
"""Writes gaze's Grad-CAM test fixtures (tests/fixtures/torch/) with the PyTorch reference, and measures it.

    /usr/bin/python3 tools/reference/torch_fixtures.py            # fixtures + all checks
    /usr/bin/python3 tools/reference/torch_fixtures.py --probs-only   # only the TF.js probability comparison

For the InceptionV3 model and each of IMAGES, at LAYERS, for the top-1 and the least probable class, in float64:
  <image>_<layer>_class<K>.npz            float64: gradcam, gradcampp [h,w], weights_gradcam, weights_gradcampp [C],
                                          probs, logits [5], class_index, layer
  <image>_<layer>_class<K>_gradcam.npy    float32 [h,w]    (raw maps: no ReLU-free scaling, no resize)
  <image>_<layer>_class<K>_gradcampp.npy  float32 [h,w]
  <image>_<layer>_class<K>_probs.npy      float32 [5]
  <GRADS_CASE>_grads.npy                  float32 [1,h,w,C]: d logit_K / d A, for one case only
  manifest.json                           every case, its numbers, and the measurements below
Measurements (also printed): fd-check of every case; float32-vs-float64 differences of the maps (what a float32
implementation such as gaze can be expected to reach); the effect of TF.js's AvgPool gradient at mixed7; the
float64 probabilities of every .npy input of both models against tests/fixtures/nsfwjs_reference.json's
probs_npy (TF.js 4.22 CPU backend, float32).

For the MobileNetV2 model, at MOBILENET_LAYER (block_13_expand_relu, 14x14x576: its gradient crosses the
stride-2 depthwise convolution of block 13 and the depthwise convolutions of blocks 14-16), the same per-case
files in MOBILENET_OUT (tests/fixtures/torch/mobilenet_v2/), and for MOBILENET_TENSORS_CASE also
  <stem>_tensors.npz                      activations.npy and grads.npy, float32 [1,14,14,576], deflated
                                          (a plain zip without ZIP64 records, which np.load and gaze's zip
                                          reader both read; np.savez_compressed would force ZIP64)
  manifest.json                           its cases and measurements (the InceptionV3 manifest is separate)
    /usr/bin/python3 tools/reference/torch_fixtures.py --only mobilenet     # just these
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
from torch_keras import KerasModel  # noqa: E402
import torch_cam  # noqa: E402

MODELS = {"inception_v3": "models/nsfwjs_inception_v3.h5", "mobilenet_v2": "models/nsfwjs_mobilenet_v2.h5"}
IMAGES = ["astronaut_299", "horse_rgba"]
LAYERS = ["mixed10", "mixed7"]
GRADS_CASE = ("astronaut_299", "mixed10", "top")
OUT = "tests/fixtures/torch"
MOBILENET_LAYER = "block_13_expand_relu"
MOBILENET_TENSORS_CASE = ("astronaut_299", "top")
MOBILENET_OUT = "tests/fixtures/torch/mobilenet_v2"


def save_case(out_dir, stem, d):
    """One case's maps (.npz), Grad-CAM, Grad-CAM++ and probabilities; returns the file names."""
    np.savez(os.path.join(out_dir, stem + ".npz"), **torch_cam.to_numpy(d, maps_only=True))
    save_npy(os.path.join(out_dir, stem + "_gradcam.npy"), d["gradcam"].numpy())
    save_npy(os.path.join(out_dir, stem + "_gradcampp.npy"), d["gradcampp"].numpy())
    save_npy(os.path.join(out_dir, stem + "_probs.npy"), d["probs"].numpy())
    return [stem + s for s in (".npz", "_gradcam.npy", "_gradcampp.npy", "_probs.npy")]


def rel(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-300))


def check_probs(reference_json):
    """float64 probabilities of every npy input vs TF.js's probs_npy."""
    if not os.path.exists(reference_json):
        print(f"no {reference_json}: TF.js comparison skipped")
        return None
    ref = json.load(open(reference_json))
    result = {}
    for key, h5 in MODELS.items():
        model = KerasModel.from_h5(os.path.join(ROOT, h5), dtype=torch.float64)
        rows = []
        for im in ref["images"]:
            m = im["models"].get(key)
            if m is None or not os.path.exists(os.path.join(ROOT, "tests/fixtures", m["npy"])):
                continue
            x = torch_cam.load_input(os.path.join(ROOT, "tests/fixtures", m["npy"]))
            with torch.no_grad():
                p = model(x).probs[0].numpy()
            d = float(np.abs(p - np.array(m["probs_npy"])).max())
            rows.append(dict(image=os.path.basename(im["file"]), probs_torch_f64=p.tolist(),
                             probs_tfjs=m["probs_npy"], max_abs_diff=d,
                             top1_same=int(np.argmax(p)) == int(np.argmax(m["probs_npy"]))))
            print(f"  {key:12s} {rows[-1]['image']:22s} torch f64 {np.array2string(p, precision=7)}  "
                  f"max |torch - tfjs| {d:.2e}")
        if rows:
            result[key] = dict(images=len(rows), max_abs_diff=max(r["max_abs_diff"] for r in rows),
                               top1_all_same=all(r["top1_same"] for r in rows), rows=rows)
            print(f"  {key}: {len(rows)} images, max abs diff of probabilities {result[key]['max_abs_diff']:.2e}, "
                  f"top-1 always the same: {result[key]['top1_all_same']}")
    return result


def save_npy(path, arr):
    np.save(path, np.ascontiguousarray(np.asarray(arr, dtype=np.float32)))


def save_tensors_npz(path, arrays):
    """float32 .npy entries, deflated, in a zip without ZIP64 records and with fixed timestamps (so that two runs
    write the same bytes). np.savez_compressed would force ZIP64 headers, which gaze's strict zip reader refuses."""
    import io
    import zipfile
    with zipfile.ZipFile(path, "w") as z:
        for name, arr in arrays.items():
            buf = io.BytesIO()
            np.save(buf, np.ascontiguousarray(np.asarray(arr, dtype=np.float32)))
            info = zipfile.ZipInfo(name + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, buf.getvalue(), compresslevel=9)


def mobilenet_cases(args):
    """MobileNetV2 at MOBILENET_LAYER, float64: per image, the top and the least probable class."""
    h5 = os.path.join(ROOT, MODELS["mobilenet_v2"])
    m64 = KerasModel.from_h5(h5, dtype=torch.float64)
    m32 = KerasModel.from_h5(h5, dtype=torch.float32)
    layer = MOBILENET_LAYER
    out_dir = os.path.join(ROOT, MOBILENET_OUT)
    os.makedirs(out_dir, exist_ok=True)
    manifest = {"generated_by": "tools/reference/torch_fixtures.py --only mobilenet (PyTorch %s, float64, CPU)"
                % torch.__version__, "model": MODELS["mobilenet_v2"], "layer": layer,
                "classes": json.loads(m64.attrs.get("gaze_class_names", "null")),
                "frontier": m64.frontier([layer]), "cases": []}
    for image in args.images:
        npy = f"tests/fixtures/npy/{image}_mobilenet_v2.npy"
        x = torch_cam.load_input(os.path.join(ROOT, npy))
        with torch.no_grad():
            probs = m64(x).probs[0]
        for which, K in (("top", int(torch.argmax(probs))), ("least", int(torch.argmin(probs)))):
            t0 = time.time()
            d = torch_cam.compute(m64, x, layer, K)
            stem = f"{image}_{layer}_class{K}"
            files = save_case(out_dir, stem, d)
            if (image, which) == MOBILENET_TENSORS_CASE:
                save_tensors_npz(os.path.join(out_dir, stem + "_tensors.npz"),
                                 {"activations": d["activations"].numpy(), "grads": d["grads"].numpy()})
                files.append(stem + "_tensors.npz")
            fd = torch_cam.fd_check(m64, x, layer, K, d["activations"], d["grads"], n=args.fd_n, verbose=False)
            d32 = torch_cam.compute(m32, x, layer, K)
            f32 = {k: rel(d32[k].double().numpy(), d[k].numpy())
                   for k in ("grads", "gradcam", "gradcampp", "probs", "activations")}
            A, G = d["activations"].numpy(), d["grads"].numpy()
            case = dict(image=image, input=npy, layer=layer, which=which, class_index=K,
                        class_name=(manifest["classes"] or [None] * 5)[K], files=files,
                        shape_activations=list(A.shape), probs=d["probs"].tolist(), logits=d["logits"].tolist(),
                        gradcam_max=float(d["gradcam"].max()), gradcampp_max=float(d["gradcampp"].max()),
                        gradcam_argmax=[int(v) for v in np.unravel_index(int(d["gradcam"].argmax()),
                                                                         tuple(d["gradcam"].shape))],
                        activations_abs_max=float(np.abs(A).max()), activations_zero_fraction=float((A == 0).mean()),
                        activations_at_6_fraction=float((A == 6).mean()),
                        grads_abs_max=float(np.abs(G).max()), grads_zero_fraction=float((G == 0).mean()),
                        fd_check=dict(n=fd["n"], max_rel_err=fd["max_rel_err"], max_abs_err=fd["max_abs_err"]),
                        float32_vs_float64_rel=f32)
            manifest["cases"].append(case)
            print(f"mobilenet_v2/{stem} ({which}, {case['class_name']}): gradcam max {case['gradcam_max']:.4g}, "
                  f"fd max rel {fd['max_rel_err']:.1e}, f32 rel: activations {f32['activations']:.1e} grads "
                  f"{f32['grads']:.1e} gradcam {f32['gradcam']:.1e} gradcam++ {f32['gradcampp']:.1e} "
                  f"({time.time() - t0:.1f} s)", flush=True)
    manifest["fd_check_max_rel_err"] = max(c["fd_check"]["max_rel_err"] for c in manifest["cases"])
    with open(os.path.join(out_dir, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    total = sum(os.path.getsize(os.path.join(out_dir, n)) for n in os.listdir(out_dir))
    print(f"wrote {MOBILENET_OUT}/ ({len(os.listdir(out_dir))} files, {total / 1e6:.2f} MB)")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", nargs="+", default=IMAGES)
    ap.add_argument("--layers", nargs="+", default=LAYERS)
    ap.add_argument("--probs-only", action="store_true")
    ap.add_argument("--no-probs", action="store_true")
    ap.add_argument("--fd-n", type=int, default=20)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--only", choices=("inception", "mobilenet"),
                    help="only the InceptionV3 fixtures (with the probability comparison) or only MobileNetV2's")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if args.only != "inception" and not args.probs_only:
        mobilenet_cases(args)
    if args.only == "mobilenet":
        return
    reference_json = os.path.join(ROOT, "tests/fixtures/nsfwjs_reference.json")
    manifest = {"generated_by": "tools/reference/torch_fixtures.py (PyTorch %s, float64, CPU)" % torch.__version__,
                "model": MODELS["inception_v3"], "classes": None, "cases": []}
    if not args.probs_only:
        m64 = KerasModel.from_h5(os.path.join(ROOT, MODELS["inception_v3"]), dtype=torch.float64)
        m32 = KerasModel.from_h5(os.path.join(ROOT, MODELS["inception_v3"]), dtype=torch.float32)
        mjs = KerasModel.from_h5(os.path.join(ROOT, MODELS["inception_v3"]), dtype=torch.float64, avgpool_grad="tfjs")
        manifest["classes"] = json.loads(m64.attrs.get("gaze_class_names", "null"))
        out_dir = os.path.join(ROOT, OUT)
        os.makedirs(out_dir, exist_ok=True)
        for image in args.images:
            npy = f"tests/fixtures/npy/{image}_inception_v3.npy"
            x = torch_cam.load_input(os.path.join(ROOT, npy))
            with torch.no_grad():
                probs = m64(x).probs[0]
            classes = [("top", int(torch.argmax(probs))), ("least", int(torch.argmin(probs)))]
            for layer in args.layers:
                for which, K in classes:
                    t0 = time.time()
                    d = torch_cam.compute(m64, x, layer, K)
                    stem = f"{image}_{layer}_class{K}"
                    files = save_case(out_dir, stem, d)
                    if (image, layer, which) == GRADS_CASE:
                        save_npy(os.path.join(out_dir, stem + "_grads.npy"), d["grads"].numpy())
                        files.append(stem + "_grads.npy")
                    fd = torch_cam.fd_check(m64, x, layer, K, d["activations"], d["grads"], n=args.fd_n)
                    # float32 run of the same case: what a float32 implementation can be expected to reach
                    d32 = torch_cam.compute(m32, x, layer, K)
                    f32 = {k: rel(d32[k].double().numpy(), d[k].numpy())
                           for k in ("grads", "gradcam", "gradcampp", "probs", "activations")}
                    # TF.js's AvgPool gradient (divides by kh*kw also at the borders)
                    djs = torch_cam.compute(mjs, x, layer, K)
                    tfjs = {k: rel(djs[k].numpy(), d[k].numpy()) for k in ("grads", "gradcam", "gradcampp")}
                    G = d["grads"].numpy()
                    case = dict(image=image, input=npy, layer=layer, which=which, class_index=K,
                                class_name=(manifest["classes"] or [None] * 5)[K], files=files,
                                shape_activations=list(d["activations"].shape),
                                probs=d["probs"].tolist(), logits=d["logits"].tolist(),
                                gradcam_max=float(d["gradcam"].max()), gradcampp_max=float(d["gradcampp"].max()),
                                gradcam_argmax=[int(v) for v in np.unravel_index(int(d["gradcam"].argmax()), tuple(d["gradcam"].shape))],
                                grads_abs_max=float(np.abs(G).max()), grads_zero_fraction=float((G == 0).mean()),
                                fd_check=dict(n=fd["n"], max_rel_err=fd["max_rel_err"], max_abs_err=fd["max_abs_err"]),
                                float32_vs_float64_rel=f32, tfjs_avgpool_grad_vs_exact_rel=tfjs)
                    manifest["cases"].append(case)
                    print(f"{stem} ({which}, {case['class_name']}): gradcam max {case['gradcam_max']:.4g}, fd max rel "
                          f"{fd['max_rel_err']:.1e}, f32 rel: grads {f32['grads']:.1e} gradcam {f32['gradcam']:.1e} "
                          f"gradcam++ {f32['gradcampp']:.1e}; tfjs avgpool grad rel: grads {tfjs['grads']:.1e} "
                          f"gradcam {tfjs['gradcam']:.1e} ({time.time() - t0:.1f} s)", flush=True)
        manifest["fd_check_max_rel_err"] = {l: max(c["fd_check"]["max_rel_err"] for c in manifest["cases"] if c["layer"] == l)
                                            for l in args.layers}
    if not args.no_probs:
        print("float64 probabilities vs TF.js probs_npy:")
        manifest["tfjs_probs_agreement"] = check_probs(reference_json)
    if not args.probs_only:
        with open(os.path.join(ROOT, OUT, "manifest.json"), "w") as f:
            json.dump(manifest, f, indent=1)
        files = [e for e in os.scandir(os.path.join(ROOT, OUT)) if e.is_file()]  # not mobilenet_v2/
        print(f"wrote {OUT}/ ({len(files)} files, {sum(e.stat().st_size for e in files) / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
