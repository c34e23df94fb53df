// A tiny Keras model made and run by TensorFlow.js 4.22.0 (pure-JS CPU backend): the committed model
// `gaze convert` is tested on, and the small model the command-line tests run when the real models are
// not needed (bad inputs, atomic writes, option errors), so that those tests never skip.
//
// Setup and run (see README.md):  cd tools/reference && npm ci && node tiny_model.js   (~10 s)
// Writes tests/fixtures/tfjs_tiny/:
//   tiny.json, tiny.weights.bin      the model as TF.js saves it: modelTopology from model.save(), the
//                                    weight specs and float32 weights TF.js wrote, laid out as TF.js's
//                                    own file handlers lay them out (io_utils getModelJSONForModelArtifacts)
//   quantized.json, quantized.weights.bin
//                                    the same model with its weights quantized to uint8 / uint16 the way
//                                    the tensorflowjs converter does (affine: q = round((w - min) / scale));
//                                    TF.js 4.22 cannot write quantized weights itself (encodeWeights has no
//                                    quantization), so this step is ours
//   quantized_decoded.json, quantized_decoded.weights.bin
//                                    what TF.js makes of quantized.json: the model loaded by
//                                    tf.loadLayersModel (its weights dequantized by TF.js's own
//                                    io.decodeWeights) and saved again by TF.js as float32
//   reference.json                   TF.js's predict() on each input, for the float and the quantized model
// The inputs are the committed MobileNetV2-sized inputs tests/fixtures/npy/*_mobilenet_v2.npy (224x224x3,
// values in [0, 1], nsfwjs preprocessing).
'use strict';

const fs = require('fs');
const path = require('path');

const tf = require('@tensorflow/tfjs');
const { checkPinned, checkLittleEndian, readNpyF32 } = require('./ref_util');

const HERE = __dirname;
const FIXTURES = path.resolve(HERE, '..', '..', 'tests', 'fixtures');
const OUT = path.join(FIXTURES, 'tfjs_tiny');
const NPY_DIR = path.join(FIXTURES, 'npy');
const CLASSES = ['cat', 'dog', 'fish', 'bird', 'frog'];

const PINNED = checkPinned();
checkLittleEndian();

// -------------------------------------------------------------------------------------------- the model

// Every weight comes from a seeded TF.js initializer, so the model is the same on every run. Layers cover
// what the converter and loader must get right: strided and 'same' convolutions, a 1x1 convolution,
// BatchNormalization with non-trivial statistics, a depthwise convolution, ReLU6, max pooling, two
// branches joined by Concatenate, average pooling with 'same' padding (TF divides by the real cells), a
// 'valid' convolution, global average pooling and a softmax Dense.
function buildModel() {
  let seed = 1;
  const kernel = () => tf.initializers.glorotUniform({ seed: seed++ });
  const bias = () => tf.initializers.randomUniform({ minval: -0.1, maxval: 0.1, seed: seed++ });
  const uniform = (minval, maxval) => tf.initializers.randomUniform({ minval, maxval, seed: seed++ });
  const conv = (name, filters, size, options = {}) => tf.layers.conv2d({
    name, filters, kernelSize: size, padding: 'same', kernelInitializer: kernel(), biasInitializer: bias(),
    ...options });

  const input = tf.input({ shape: [224, 224, 3], name: 'input' });
  let x = conv('conv1', 8, 3, { strides: 2, activation: 'relu' }).apply(input);           // 112x112x8
  x = tf.layers.batchNormalization({
    name: 'bn1', gammaInitializer: uniform(0.5, 1.5), betaInitializer: uniform(-0.2, 0.2),
    movingMeanInitializer: uniform(0, 0.3), movingVarianceInitializer: uniform(0.05, 0.5) }).apply(x);
  x = tf.layers.depthwiseConv2d({
    name: 'dw1', kernelSize: 3, padding: 'same', depthwiseInitializer: kernel(), biasInitializer: bias() }).apply(x);
  x = tf.layers.reLU({ name: 'relu6', maxValue: 6 }).apply(x);
  x = conv('pw1', 16, 1).apply(x);
  x = tf.layers.maxPooling2d({ name: 'pool1', poolSize: 2 }).apply(x);                   // 56x56x16
  const a = conv('branch_a', 8, 1, { activation: 'relu' }).apply(x);
  const b = conv('branch_b', 8, 3, { activation: 'relu' }).apply(x);
  x = tf.layers.concatenate({ name: 'mixed' }).apply([a, b]);                               // 56x56x16
  x = tf.layers.averagePooling2d({ name: 'pool2', poolSize: 3, strides: 2, padding: 'same' }).apply(x); // 28
  x = conv('top_conv', 12, 3, { padding: 'valid', activation: 'relu' }).apply(x);          // 26x26x12
  x = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(x);
  // A wide kernel, so that the classes' probabilities differ from input to input.
  const output = tf.layers.dense({
    name: 'dense', units: CLASSES.length, activation: 'softmax',
    kernelInitializer: tf.initializers.randomNormal({ stddev: 8, seed: seed++ }), biasInitializer: bias() })
    .apply(x);
  return tf.model({ inputs: input, outputs: output, name: 'tiny' });
}

// --------------------------------------------------------------------------------------- saving, loading

// The model's artifacts as model.save() hands them to a save handler.
async function artifactsOf(model) {
  let saved;
  await model.save(tf.io.withSaveHandler(async (artifacts) => {
    saved = artifacts;
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
  }));
  return saved;
}

// model.json as TF.js's file handlers write it (io_utils getModelJSONForModelArtifacts), one shard.
function writeModel(stem, artifacts, weightSpecs, weightData) {
  const bin = `${stem}.weights.bin`;
  const json = {
    modelTopology: artifacts.modelTopology,
    format: artifacts.format,
    generatedBy: artifacts.generatedBy,
    convertedBy: artifacts.convertedBy,
    weightsManifest: [{ paths: [bin], weights: weightSpecs }],
  };
  fs.writeFileSync(path.join(OUT, `${stem}.json`), JSON.stringify(json, null, 1) + '\n');
  fs.writeFileSync(path.join(OUT, bin), Buffer.from(weightData));
}

async function loadModel(stem) {
  const json = JSON.parse(fs.readFileSync(path.join(OUT, `${stem}.json`), 'utf8'));
  const group = json.weightsManifest[0];
  const data = fs.readFileSync(path.join(OUT, group.paths[0]));
  const weightData = data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength);
  return tf.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: group.weights,
                                               weightData }));
}

// ------------------------------------------------------------------------------------------ quantization

// nsfwjs InceptionV3's batch_normalization_1/beta quantization: q = 65 is its zero point, which TF.js's
// decode maps to exactly 0 (a fused multiply-add would not).
const NSFWJS_SCALE = 0.022262044981414198, NSFWJS_MIN = -1.4470329237919228, NSFWJS_ZERO_POINT = 65;

// How each weight is stored in quantized.json: most as uint8, two as uint16, the dense bias with the
// nsfwjs scale and min (its first value set to the zero point), one left as float32.
function quantizationOf(name) {
  if (name === 'bn1/moving_variance') return null;
  if (name === 'top_conv/kernel' || name === 'bn1/gamma') return { dtype: 'uint16' };
  if (name === 'dense/bias') return { dtype: 'uint8', scale: NSFWJS_SCALE, min: NSFWJS_MIN };
  return { dtype: 'uint8' };
}

// The affine quantization of the tensorflowjs converter: min and max of the weight, 2^bits - 1 steps.
function quantize(values, spec) {
  const levels = spec.dtype === 'uint8' ? 256 : 65536;
  let min = spec.min, scale = spec.scale;
  if (min === undefined) {
    min = Math.min(...values);
    const max = Math.max(...values);
    scale = max > min ? (max - min) / (levels - 1) : 1;
  }
  const q = spec.dtype === 'uint8' ? new Uint8Array(values.length) : new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) {
    q[i] = Math.min(levels - 1, Math.max(0, Math.round((values[i] - min) / scale)));
  }
  return { q, quantization: { dtype: spec.dtype, min, scale, original_dtype: 'float32' } };
}

function quantizedWeights(weightSpecs, weightData) {
  const specs = [];
  const parts = [];
  let offset = 0;
  for (const spec of weightSpecs) {
    if (spec.dtype !== 'float32') throw new Error(`${spec.name}: ${spec.dtype}`);
    const count = spec.shape.reduce((a, b) => a * b, 1);
    const values = new Float32Array(weightData.slice(offset, offset + 4 * count));
    offset += 4 * count;
    const how = quantizationOf(spec.name);
    if (!how) {
      specs.push(spec);
      parts.push(Buffer.from(values.buffer));
      continue;
    }
    const { q, quantization } = quantize(values, how);
    if (spec.name === 'dense/bias') q[0] = NSFWJS_ZERO_POINT;
    specs.push({ ...spec, quantization });
    parts.push(Buffer.from(q.buffer, q.byteOffset, q.byteLength));
  }
  if (offset !== weightData.byteLength) throw new Error('weight data longer than the specs');
  return { specs, data: Buffer.concat(parts) };
}

// ------------------------------------------------------------------------------------------------- main

function predictAll(model, inputs) {
  return inputs.map(({ data }) => tf.tidy(() =>
    Array.from(model.predict(tf.tensor4d(data, [1, 224, 224, 3])).dataSync())));
}

(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
  if (tf.getBackend() !== 'cpu') throw new Error(`backend is ${tf.getBackend()}`);
  fs.mkdirSync(OUT, { recursive: true });

  const model = buildModel();
  const artifacts = await artifactsOf(model);
  writeModel('tiny', artifacts, artifacts.weightSpecs, artifacts.weightData);
  const quantized = quantizedWeights(artifacts.weightSpecs, artifacts.weightData);
  writeModel('quantized', artifacts, quantized.specs, quantized.data);
  const quantizedModel = await loadModel('quantized');
  const decoded = await artifactsOf(quantizedModel);
  writeModel('quantized_decoded', decoded, decoded.weightSpecs, decoded.weightData);

  const files = fs.readdirSync(NPY_DIR).filter(f => f.endsWith('_mobilenet_v2.npy')).sort();
  if (files.length === 0) throw new Error(`no *_mobilenet_v2.npy in ${NPY_DIR}`);
  const inputs = files.map(f => readNpyF32(path.join(NPY_DIR, f)));
  for (let i = 0; i < files.length; i++) {
    if (inputs[i].shape.join() !== '224,224,3') throw new Error(`${files[i]}: shape ${inputs[i].shape}`);
  }
  const reloaded = await loadModel('tiny');
  const reference = {
    tfjs: PINNED['@tensorflow/tfjs'],
    backend: 'cpu',
    classes: CLASSES,
    inputs: files.map(f => `npy/${f}`),
    // float32 probabilities as JS numbers (each parses back to the exact float32), class-index order
    probs: predictAll(model, inputs),
    probs_reloaded: predictAll(reloaded, inputs),
    probs_quantized: predictAll(quantizedModel, inputs),
  };
  if (JSON.stringify(reference.probs) !== JSON.stringify(reference.probs_reloaded)) {
    throw new Error('the model loaded back from tiny.json predicts differently from the one saved');
  }
  delete reference.probs_reloaded;
  fs.writeFileSync(path.join(OUT, 'reference.json'), JSON.stringify(reference, null, 1) + '\n');
  for (let i = 0; i < files.length; i++) {
    console.log(`${files[i]}: [${reference.probs[i].map(v => v.toFixed(4)).join(' ')}] quantized ` +
                `[${reference.probs_quantized[i].map(v => v.toFixed(4)).join(' ')}]`);
  }
  console.log(`wrote ${path.relative(process.cwd(), OUT)}: ${artifacts.weightSpecs.length} weights, ` +
              `${artifacts.weightData.byteLength / 4} parameters`);
})().catch((e) => { console.error(e); process.exit(1); });
