#!/usr/bin/python3
"""The table of a tools/bench.sh run: per model, gaze beside ONNX Runtime and PyTorch's best variant.

    /usr/bin/python3 tools/reference/bench_table.py out/bench-DATE.jsonl

The .jsonl holds one "bench.sh" line (the machine), then per model (the "bench_model" key of each line):
`gaze bench --json` lines, `gaze classify --json --top 0` ("gaze-classify", once), torch_bench.py lines
("pytorch", per variant) and ort_bench.js lines ("onnxruntime", per batch). Each figure is the median over
rounds of each round's median. Batch rows are per image (the batch's time / its size). Prints markdown.
"""
import json
import statistics
import sys

TARGETS = {  # bench_model: forward limit as (ratio, against which peers)
    "inception_v3": (0.7, ("onnxruntime", "pytorch")),
    "mobilenet_v2": (0.8, ("onnxruntime",)),
    "resnet50": (1.0, ("onnxruntime",)),
    "efficientnet_b0": (1.0, ("onnxruntime",)),
}
PROB_TOLERANCE = 1e-5  # ONNX Runtime's probabilities against gaze's: the race is on the same network


def read(path):
    meta, models = {}, {}
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                d = json.loads(line)
            except ValueError:
                sys.exit(f"bench: error: {path}:{n}: not a JSON line")
            if d.get("tool") == "bench.sh":
                meta = d
                continue
            m = models.setdefault(d.get("bench_model", "inception_v3"),
                                  {"gaze": [], "classify": None, "pytorch": {}, "onnxruntime": {}})
            tool = d.get("tool")
            if tool == "gaze":
                m["gaze"].append(d)
            elif tool == "gaze-classify":
                m["classify"] = d
            elif tool == "pytorch":
                m["pytorch"].setdefault(d["variant"], []).append(d)
            elif tool == "onnxruntime":
                m["onnxruntime"].setdefault(int(d.get("batch", 1)), []).append(d)
    return meta, models


def value(d, key):
    v = d.get(key)
    return v.get("median") if isinstance(v, dict) else v


def med(lines, key):
    vals = [value(d, key) for d in lines if value(d, key) is not None]
    return statistics.median(vals) if vals else None


def ratio(a, b):
    return None if a is None or b is None or b == 0 else a / b


def fmt(v, unit):
    return "n/a" if v is None else f"{v:.1f} {unit}"


def fmt_ratio(r):
    return "n/a" if r is None else f"{r:.2f}"


def target(name, value, limit, pct=False, at_least=False):
    if value is None:
        return f"  n/a   {name}"
    ok = value >= limit if at_least else value <= limit
    shown = f"{100 * value:.0f}%" if pct else f"{value:.2f}x"
    return f"  {'PASS' if ok else 'MISS'}  {name}: {shown}"


def prob_diff(m):
    """max |p_ORT - p_gaze| over the classes of the first image, or None."""
    if not m["classify"] or not m["onnxruntime"]:
        return None
    preds = m["classify"]["predictions"]
    gaze = {int(p["index"]): float(p["prob"]) for p in preds}
    diffs = []
    for lines in m["onnxruntime"].values():
        for d in lines:
            probs = d.get("probs") or []
            if len(probs) != len(gaze):
                return float("inf")
            diffs.append(max(abs(p - gaze[i]) for i, p in enumerate(probs)))
    return max(diffs) if diffs else None


def model_table(key, m, out):
    gaze, torch_runs, ort = m["gaze"], m["pytorch"], m["onnxruntime"]
    if not gaze:
        out.append(f"### {key}: no gaze line")
        return
    layer = gaze[0].get("cam_layer", "mixed10")
    best = min(torch_runs, key=lambda v: med(torch_runs[v], "forward_ms")) if torch_runs else None
    pt = torch_runs.get(best, [])
    ort1 = ort.get(1, [])
    batches = sorted(b for b in ort if b > 1)
    gaze_batch = gaze[0].get("batch")
    shape = gaze[0].get("input_shape")
    out.append(f"### {key} ({'x'.join(str(s) for s in shape[1:3]) if shape else '?'}), "
               f"{len(gaze)} round(s)")
    out.append("")
    out.append(f"| | gaze | ONNX Runtime | PyTorch best ({best or 'n/a'}) | gaze / ORT | gaze / PyTorch |")
    out.append("| --- | ---: | ---: | ---: | ---: | ---: |")
    G = {}

    def row(label, g, o, p, unit="ms"):
        out.append(f"| {label} | {fmt(g, unit)} | {fmt(o, unit)} | {fmt(p, unit)} | "
                   f"{fmt_ratio(ratio(g, o))} | {fmt_ratio(ratio(g, p))} |")

    G["forward"] = med(gaze, "forward_ms")
    O1, P1 = med(ort1, "forward_ms"), med(pt, "forward_ms")
    row("forward, batch 1", G["forward"], O1, P1)
    for b in batches:
        g = med(gaze, "forward_batch_ms") if gaze_batch == b else None
        o = med(ort[b], "forward_ms")
        row(f"forward, batch {b}, per image", None if g is None else g / b, None if o is None else o / b, None)
    keys = [(f"Grad-CAM {layer}", f"gradcam_{layer}_ms"), ("Grad-CAM mixed7", "gradcam_mixed7_ms"),
            (f"Grad-CAM++ {layer}", f"gradcampp_{layer}_ms")]
    for label, k in keys:
        g = med(gaze, k)
        if g is None:
            continue
        G[k] = g
        row(label, g, None, med(pt, k))
    rss = {v: med(l, "peak_rss_mb") for v, l in torch_runs.items() if med(l, "peak_rss_mb") is not None}
    p_rss = min(rss.values()) if rss else None
    G["rss"] = med(gaze, "peak_rss_mb")
    row("peak RSS, one-image cam", G["rss"], None, p_rss, "MiB")
    out.append("")
    if torch_runs:
        out.append("PyTorch variants, forward median / peak RSS: " + ", ".join(
            f"{v} {med(torch_runs[v], 'forward_ms'):.1f} ms / {fmt(med(torch_runs[v], 'peak_rss_mb'), 'MiB')}"
            for v in sorted(torch_runs, key=lambda v: med(torch_runs[v], "forward_ms"))))
    checked = [d.get("checked_against_gaze") for l in torch_runs.values() for d in l
               if d.get("checked_against_gaze") is not None]
    if checked:
        out.append(f"probabilities, max |PyTorch - gaze|: {max(checked):.2g}")
    diff = prob_diff(m)
    if diff is not None:
        out.append(f"probabilities, max |ONNX Runtime - gaze|: {diff:.2g}")
    conv, sgemm = med(gaze, "conv_gflops"), med(gaze, "sgemm_gflops")
    if conv and sgemm:
        out.append(f"conv throughput (im2col + GEMM): {conv:.1f} GFLOP/s = {100 * conv / sgemm:.0f}% of sgemm "
                   f"({sgemm:.1f} GFLOP/s)")
    out.append("")
    out.append("targets:")
    limit, peers = TARGETS.get(key, (1.0, ("onnxruntime",)))
    peer_ms = {"onnxruntime": O1, "pytorch": P1}
    known = [peer_ms[p] for p in peers if peer_ms[p] is not None]
    names = " and ".join({"onnxruntime": "ONNX Runtime", "pytorch": "PyTorch"}[p] for p in peers)
    fastest = min(known) if known else None
    out.append(target(f"forward <= {limit}x the fastest of {names}", ratio(G["forward"], fastest), limit))
    out.append(target(f"Grad-CAM {layer} <= 1.03x gaze's forward", ratio(G.get(f"gradcam_{layer}_ms"), G["forward"]),
                      1.03))
    if "gradcam_mixed7_ms" in G:
        out.append(target("Grad-CAM mixed7 <= 1.25x gaze's forward", ratio(G["gradcam_mixed7_ms"], G["forward"]),
                          1.25))
    out.append(target("peak RSS <= 0.4x PyTorch's (lowest variant)", ratio(G["rss"], p_rss), 0.4))
    if diff is not None:
        ok = diff <= PROB_TOLERANCE
        out.append(f"  {'PASS' if ok else 'MISS'}  ONNX Runtime's probabilities within {PROB_TOLERANCE:g} of gaze's: "
                   f"{diff:.2g}")
    out.append("")


def main(path):
    meta, models = read(path)
    if not models:
        sys.exit(f"bench: error: {path} has no measurement lines")
    out = []
    for key, m in models.items():
        model_table(key, m, out)
    out.append(f"date: {meta.get('date', 'n/a')}")
    out.append(f"CPU: {meta.get('cpu', 'n/a')}")
    out.append(f"threads: {meta.get('threads', 'n/a')}; {meta.get('runs', '?')} runs per figure after "
               f"{meta.get('warmup', '?')} warm-up calls")
    for label, k in (("OpenBLAS (gaze)", "openblas"), ("torch", "torch"), ("ONNX Runtime", "onnxruntime"),
                     ("gaze", "gaze"), ("environment", "env")):
        if meta.get(k):
            out.append(f"{label}: {meta[k]}")
    if meta.get("loadavg_start"):
        out.append(f"load average: {meta['loadavg_start']} at the start, {meta.get('loadavg_end', 'n/a')} at the end")
    print("\n".join(out))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
