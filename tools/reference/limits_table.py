#!/usr/bin/python3
"""The limit analysis of tools/limits.sh, from its raw files: per model, where the forward pass's
time goes, by layer class (gaze bench --profile --json: measured time, multiply-adds executed,
bytes moved, and each class's roofline time) and by step class (perf's samples of a run of
forwards, by function).

    limits_table.py OUT_DIR        # reads OUT_DIR/meta.json, OUT_DIR/<model>.bench.json, <model>.perf.txt

Roofline: a class's compute time at the machine's sgemm rate (2 flops per multiply-add, the
rate of a 2048^3 sgemm with the same threads) and its memory time at the measured copy
bandwidth (every input, output and weight read or written once, float32); the larger is the
class's limit, and says whether it is compute- or memory-bound. Layers fused into a
convolution's epilogue (BatchNormalization, activations, an absorbed ZeroPadding2D) are timed
inside the convolution (0 ms of their own), so their bytes are left out of the roofline, as the
plan never moves them. The bandwidth is DRAM's: a class whose data stays in cache (MobileNetV2's
activations fit in L2 and L3) can run faster than its "memory limit" (a ratio above 1).
"""
import json
import re
import sys
from pathlib import Path

# perf symbol -> step class. The first matching pattern wins; matched against "dso symbol".
STEP_CLASSES = [
    ("GEMM kernel (OpenBLAS)", r"libopenblas.*sgemm_(small_)?kernel"),
    ("GEMM packing (OpenBLAS)", r"libopenblas.*(copy|beta)"),
    ("GEMM other (OpenBLAS)", r"libopenblas"),
    ("GEMM kernel (gaze's, tensor/gemm.cpp)", r"gaze .*(panel_tile|short_tile|panel_rows|run_tiles|gemm_packed|gemm_packing)"),
    ("GEMM packing (gaze's, per call)", r"gaze .*pack_panel"),
    ("GEMM, gaze's thin kernels (tensor/gemm.cpp)", r"gaze .*thin_(rows|gemm)"),
    ("depthwise", r"gaze .*depthwise"),
    ("Winograd transforms", r"gaze .*(winograd|combine)"),
    ("im2col", r"gaze .*im2col"),
    ("pooling", r"gaze .*pool"),
    ("epilogues and activations", r"gaze .*(epilogue|activation)"),
    ("elementwise merges (Add, Multiply)", r"gaze .*(BinaryOp|binary)"),
    ("copies and fills (memcpy, memset)", r"libc.*mem(cpy|move|set)"),
    ("OpenMP wait and sync (libgomp)", r"libgomp"),
    ("kernel (page faults, scheduling)", r"\[kernel"),
    ("input and model reading (npy, HDF5, zlib)", r"libhdf5|libz\.|find_signature|hdf5|load_model_input|npy"),
]


def step_classes(perf_txt):
    shares = {}
    for line in perf_txt.splitlines():
        m = re.match(r"\s*([\d.]+)%\s+(\S+)\s+\[[.k]\]\s+(.*)$", line)
        if not m:
            continue
        pct, dso, sym = float(m.group(1)), m.group(2), m.group(3).strip()
        key = f"{dso} {sym}"
        name = next((n for n, pat in STEP_CLASSES if re.search(pat, key)), "other gaze code" if dso == "gaze" else "other")
        shares[name] = shares.get(name, 0.0) + pct
    return shares


def layer_class(layer):
    c = layer["class"]
    if c == "Conv2D":
        if layer.get("winograd"):
            return "Conv2D, Winograd"
        return "Conv2D 1x1" if layer.get("kernel_1x1") else "Conv2D kxk, im2col"
    if c in ("DepthwiseConv2D", "SeparableConv2D", "Dense"):
        return c
    if "Pooling" in c:
        return "pooling"
    return "other (merges, padding, reshapes, elementwise)"


def main():
    out = Path(sys.argv[1])
    meta = json.loads((out / "meta.json").read_text())
    sgemm, bw = meta["sgemm_gflops"], meta["copy_gb_per_s"]
    print(f"machine: {meta['cpu']}; {meta['threads']} threads; sgemm 2048^3 {sgemm:.0f} GFLOP/s; "
          f"copy bandwidth {bw:.1f} GB/s ({meta['bandwidth_method']}); {meta['date']}, gaze {meta['gaze']}")
    for model in meta["models"]:
        bench = json.loads((out / f"{model}.bench.json").read_text())
        layers = bench["layers"]
        for layer in layers:
            layer["kernel_1x1"] = layer.get("kernel") == [1, 1]
        fwd = bench["forward_ms"]["median"]
        total_ms = sum(l["ms"] for l in layers)
        macs = sum(l["multiply_adds"] for l in layers)
        executed = sum(l["executed_multiply_adds"] for l in layers)
        print(f"\n### {model}: forward {fwd:.1f} ms (median); per-layer timings sum to {total_ms:.1f} ms\n")
        print(f"{macs / 1e9:.2f} G multiply-adds by the direct method, {executed / 1e9:.2f} G executed "
              f"(after Winograd); compute limit {2 * executed / sgemm / 1e6:.1f} ms at {sgemm:.0f} GFLOP/s\n")
        groups = {}
        for layer in layers:
            g = groups.setdefault(layer_class(layer), {"ms": 0.0, "macs": 0, "bytes": 0, "n": 0})
            g["ms"] += layer["ms"]
            g["macs"] += layer["executed_multiply_adds"]
            g["n"] += 1
            if layer["ms"] > 0 or layer["multiply_adds"] > 0:  # else run inside another step
                g["bytes"] += layer["bytes"]
        print("| layer class | layers | measured ms | G multiply-adds executed | MB moved | compute limit ms | memory limit ms | bound | roofline / measured |")
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |")
        limit_total = 0.0
        for name, g in sorted(groups.items(), key=lambda kv: -kv[1]["ms"]):
            compute = 2 * g["macs"] / sgemm / 1e6
            memory = g["bytes"] / bw / 1e6
            limit = max(compute, memory)
            limit_total += limit
            bound = "compute" if compute >= memory else "memory"
            eff = f"{limit / g['ms']:.2f}" if g["ms"] > 0.005 else "n/a"
            print(f"| {name} | {g['n']} | {g['ms']:.2f} | {g['macs'] / 1e9:.3f} | {g['bytes'] / 1e6:.1f} | "
                  f"{compute:.2f} | {memory:.2f} | {bound} | {eff} |")
        print(f"| all | {len(layers)} | {total_ms:.2f} | {executed / 1e9:.3f} | | | | | {limit_total / total_ms:.2f} |")
        perf = out / f"{model}.perf.txt"
        if perf.exists():
            shares = step_classes(perf.read_text())
            print(f"\nSteps (perf samples of {meta['perf_runs']} forwards; share of all samples, and of the forward's median):\n")
            print("| step class | share | ms per forward |")
            print("| --- | ---: | ---: |")
            for name, pct in sorted(shares.items(), key=lambda kv: -kv[1]):
                if pct >= 0.05:
                    print(f"| {name} | {pct:.1f}% | {pct / 100 * fwd:.2f} |")


if __name__ == "__main__":
    main()
