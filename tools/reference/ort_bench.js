// Times ONNX Runtime (CPU) on the same work as `gaze bench`'s forward pass, for tools/bench.sh.
//
//   node tools/reference/ort_bench.js --model X.onnx --input X.npy [--threads T] [--runs N] [--warmup W]
//
// X.onnx comes from tools/reference/ort_export.py (input NHWC [B, H, W, 3], output the probabilities);
// the [1, H, W, 3] .npy input is repeated B times. The session: every graph optimization on, intra-op
// threads T (default 1), inter-op threads 1, sequential execution. Each call is timed W times untimed
// then N times with process.hrtime; prints one JSON line: the median, min, max, p10 and p90 of the
// batch's forward in milliseconds, the batch, and the probabilities of the first image.
'use strict';

const path = require('path');
const { readNpyF32 } = require('./ref_util');

const ort = require(path.join(__dirname, 'ort', 'node_modules', 'onnxruntime-node'));
const ORT_VERSION = '1.30.0';

function parseArgs(argv) {
  const a = { threads: 1, runs: 20, warmup: 3 };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '');
    if (!(key in { model: 1, input: 1, threads: 1, runs: 1, warmup: 1 }) || i + 1 >= argv.length)
      throw new Error(`ort_bench: bad option '${argv[i]}'`);
    a[key] = ['threads', 'runs', 'warmup'].includes(key) ? Number(argv[i + 1]) : argv[i + 1];
  }
  if (!a.model || !a.input) throw new Error('ort_bench: --model and --input are needed');
  return a;
}

function stats(ms) {
  const s = [...ms].sort((x, y) => x - y);
  const q = (p) => {  // linear interpolation between order statistics, as numpy.percentile
    const pos = p * (s.length - 1), lo = Math.floor(pos), hi = Math.ceil(pos);
    return s[lo] + (s[hi] - s[lo]) * (pos - lo);
  };
  const r = (v) => Math.round(v * 1000) / 1000;
  return { median: r(q(0.5)), min: r(s[0]), max: r(s[s.length - 1]), p10: r(q(0.1)), p90: r(q(0.9)), runs: s.length };
}

async function main() {
  const a = parseArgs(process.argv.slice(2));
  const version = require(path.join(__dirname, 'ort', 'node_modules', 'onnxruntime-node', 'package.json')).version;
  if (version !== ORT_VERSION) throw new Error(`onnxruntime-node is ${version}, expected ${ORT_VERSION}`);
  const session = await ort.InferenceSession.create(a.model, {
    executionProviders: ['cpu'], graphOptimizationLevel: 'all', executionMode: 'sequential',
    intraOpNumThreads: a.threads, interOpNumThreads: 1,
  });
  const inputName = session.inputNames[0];
  const dims = session.inputMetadata ? session.inputMetadata[0].shape : null;
  const one = readNpyF32(a.input);
  const batch = dims && typeof dims[0] === 'number' ? dims[0] : 1;
  const data = new Float32Array(one.data.length * batch);
  for (let b = 0; b < batch; ++b) data.set(one.data, b * one.data.length);
  const hwc = one.shape.length === 4 ? one.shape.slice(1) : one.shape;  // [1, H, W, C] or [H, W, C]
  const feeds = { [inputName]: new ort.Tensor('float32', data, [batch, ...hwc]) };
  let out = null;
  const call = async () => { out = await session.run(feeds); };
  for (let i = 0; i < a.warmup; ++i) await call();
  const ms = [];
  for (let i = 0; i < a.runs; ++i) {
    const t0 = process.hrtime.bigint();
    await call();
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  const probs = out[session.outputNames[0]].data;
  const classes = probs.length / batch;
  console.log(JSON.stringify({
    tool: 'onnxruntime', variant: `onnxruntime b${batch}`, batch, threads: a.threads, model: path.resolve(a.model),
    forward_ms: stats(ms), probs: Array.from(probs.subarray(0, classes)), onnxruntime_version: version,
  }));
}

main().catch((e) => { console.error(`ort_bench: error: ${e.message}`); process.exit(1); });
