// Full-width benchmark models for tools/bench.sh (issue 12): ResNet50 and EfficientNetB0 at 224x224 with
// 1000 classes, built with the TF.js Keras layers API and given seeded weights, saved in TF.js layers format.
// Speed only: the weights are random, but every layer is at its keras.applications width and depth.
//
//   node bench_models.js INPUT.npy OUT_DIR [resnet50] [efficientnet_b0]
// writes OUT_DIR/<name>/model.json + weights.bin; INPUT.npy ([1, 224, 224, 3] float32) is the bench's input.
//
// The architectures follow keras/src/applications/resnet.py (ResNet50: stack_fn of stack1 with 3, 4, 6, 3
// blocks) and keras/src/applications/efficientnet.py (EfficientNetB0: DEFAULT_BLOCKS_ARGS, width and depth
// coefficient 1.0). One departure: EfficientNetB0 here has no Rescaling/Normalization stem (the bench feeds
// it an already normalized input), since the PyTorch interpreter that ONNX Runtime's graph comes from
// (torch_keras.py) has no Normalization layer; those two per-pixel scalings are a negligible share of the time.
//
// Weights: seeded He-normal kernels, small biases and BatchNormalization gamma/beta; the moving statistics
// are measured on INPUT.npy in one eager pass through the graph (each BatchNormalization's input, after the
// layers before it are set), so activations stay at unit scale through 50 layers, and the classifier is
// scaled so that the logits on INPUT.npy spread 2 over the classes: the probabilities are neither one-hot
// nor uniform, so that comparing runtimes' probabilities means something. ResNet50's residual branches
// end in a BatchNormalization whose gamma is drawn from [0.1, 0.3] (the others from [0.6, 1.4]), as
// trained ResNets' are small (and zero at Goyal et al.'s initialization): with gammas near 1, the 16
// blocks amplify float32 rounding chaotically: gaze's probabilities were up to 8.5e-6 from float64
// with im2col and 2.3e-5 with Winograd, against the bench's 1e-5 check between runtimes. With these
// gammas: 1.3e-7 to 2.9e-7 (im2col), 1.3e-7 to 1.2e-6 (Winograd), on four 224x224 photos.
'use strict';

const fs = require('fs');
const path = require('path');
const tf = require('@tensorflow/tfjs');
const { Rng } = require('./families_lib');
const { readNpyF32 } = require('./ref_util');

const L = tf.layers;
const SIZE = 224;
const CLASSES = 1000;
const SEED = 20261203;

const conv = (x, name, filters, kernel, o = {}) =>
  L.conv2d({ name, filters, kernelSize: kernel, strides: o.s || 1, padding: o.pad || 'same',
             useBias: o.bias !== false, activation: o.act || 'linear' }).apply(x);
const dwconv = (x, name, kernel, o = {}) =>
  L.depthwiseConv2d({ name, kernelSize: kernel, strides: o.s || 1, padding: o.pad || 'same',
                      useBias: false }).apply(x);
const bn = (x, name, eps = 1e-3) => L.batchNormalization({ name, axis: -1, epsilon: eps }).apply(x);
const act = (x, name, activation) => L.activation({ name, activation }).apply(x);
const pad = (x, name, p) => L.zeroPadding2d({ name, padding: typeof p === 'number' ? [[p, p], [p, p]] : p }).apply(x);
const gap = (x, name) => L.globalAveragePooling2d({ name }).apply(x);

// keras/src/applications/imagenet_utils.py correct_pad for channels_last
function correctPad(x, k) {
  const [h, w] = x.shape.slice(1, 3);
  const c = Math.floor(k / 2);
  return [[c - (1 - (h % 2)), c], [c - (1 - (w % 2)), c]];
}

// keras/src/applications/resnet.py: block1 (post-activation bottleneck), stack1, ResNet50.
function resnet50() {
  const block1 = (x, filters, name, s = 1, convShortcut = true) => {
    const shortcut = convShortcut
      ? bn(conv(x, `${name}_0_conv`, 4 * filters, 1, { s }), `${name}_0_bn`, 1.001e-5) : x;
    x = act(bn(conv(x, `${name}_1_conv`, filters, 1, { s }), `${name}_1_bn`, 1.001e-5), `${name}_1_relu`, 'relu');
    x = act(bn(conv(x, `${name}_2_conv`, filters, 3), `${name}_2_bn`, 1.001e-5), `${name}_2_relu`, 'relu');
    x = bn(conv(x, `${name}_3_conv`, 4 * filters, 1), `${name}_3_bn`, 1.001e-5);
    return act(L.add({ name: `${name}_add` }).apply([shortcut, x]), `${name}_out`, 'relu');
  };
  const stack1 = (x, filters, blocks, name, s = 2) => {
    x = block1(x, filters, `${name}_block1`, s);
    for (let i = 2; i <= blocks; ++i) x = block1(x, filters, `${name}_block${i}`, 1, false);
    return x;
  };
  const inp = L.input({ shape: [SIZE, SIZE, 3], name: 'input_layer' });
  let x = conv(pad(inp, 'conv1_pad', 3), 'conv1_conv', 64, 7, { s: 2, pad: 'valid' });
  x = act(bn(x, 'conv1_bn', 1.001e-5), 'conv1_relu', 'relu');
  x = L.maxPooling2d({ name: 'pool1_pool', poolSize: 3, strides: 2 }).apply(pad(x, 'pool1_pad', 1));
  x = stack1(x, 64, 3, 'conv2', 1);
  x = stack1(x, 128, 4, 'conv3');
  x = stack1(x, 256, 6, 'conv4');
  x = stack1(x, 512, 3, 'conv5');
  x = L.dense({ name: 'predictions', units: CLASSES, activation: 'softmax' }).apply(gap(x, 'avg_pool'));
  return tf.model({ inputs: inp, outputs: x, name: 'resnet50' });
}

// keras/src/applications/efficientnet.py: DEFAULT_BLOCKS_ARGS and block(), EfficientNetB0 (coefficients 1.0).
const B0_BLOCKS = [  // kernel, repeats, filters in, filters out, expand ratio, stride (se_ratio 0.25 for all)
  [3, 1, 32, 16, 1, 1], [3, 2, 16, 24, 6, 2], [5, 2, 24, 40, 6, 2], [3, 3, 40, 80, 6, 2],
  [5, 3, 80, 112, 6, 1], [5, 4, 112, 192, 6, 2], [3, 1, 192, 320, 6, 1],
];
function efficientnetB0() {
  const block = (inputs, filtersIn, filtersOut, k, s, expand, name) => {
    const filters = filtersIn * expand;
    let x = inputs;
    if (expand !== 1) {
      x = act(bn(conv(x, `${name}expand_conv`, filters, 1, { bias: false }), `${name}expand_bn`),
              `${name}expand_activation`, 'swish');
    }
    if (s === 2) x = pad(x, `${name}dwconv_pad`, correctPad(x, k));
    x = dwconv(x, `${name}dwconv`, k, { s, pad: s === 2 ? 'valid' : 'same' });
    x = act(bn(x, `${name}bn`), `${name}activation`, 'swish');
    let se = L.reshape({ name: `${name}se_reshape`, targetShape: [1, 1, filters] }).apply(gap(x, `${name}se_squeeze`));
    se = conv(se, `${name}se_reduce`, Math.max(1, Math.floor(filtersIn * 0.25)), 1, { act: 'swish' });
    se = conv(se, `${name}se_expand`, filters, 1, { act: 'sigmoid' });
    x = L.multiply({ name: `${name}se_excite` }).apply([x, se]);
    x = bn(conv(x, `${name}project_conv`, filtersOut, 1, { bias: false }), `${name}project_bn`);
    if (s === 1 && filtersIn === filtersOut) x = L.add({ name: `${name}add` }).apply([x, inputs]);
    return x;
  };
  const inp = L.input({ shape: [SIZE, SIZE, 3], name: 'input_layer' });
  let x = conv(pad(inp, 'stem_conv_pad', correctPad(inp, 3)), 'stem_conv', 32, 3, { s: 2, pad: 'valid', bias: false });
  x = act(bn(x, 'stem_bn'), 'stem_activation', 'swish');
  B0_BLOCKS.forEach(([k, repeats, fin, fout, expand, s], i) => {
    for (let j = 0; j < repeats; ++j) {
      const name = `block${i + 1}${String.fromCharCode(97 + j)}_`;
      x = block(x, j === 0 ? fin : fout, fout, k, j === 0 ? s : 1, expand, name);
    }
  });
  x = act(bn(conv(x, 'top_conv', 1280, 1, { bias: false }), 'top_bn'), 'top_activation', 'swish');
  x = L.dropout({ name: 'top_dropout', rate: 0.2 }).apply(gap(x, 'avg_pool'));
  x = L.dense({ name: 'predictions', units: CLASSES, activation: 'softmax' }).apply(x);
  return tf.model({ inputs: inp, outputs: x, name: 'efficientnetb0' });
}

const MODELS = { resnet50, efficientnet_b0: efficientnetB0 };

function initWeights(m, rng) {
  for (const layer of m.layers) {
    if (layer.weights.length === 0) continue;
    const cls = layer.getClassName();
    layer.setWeights(layer.weights.map(w => {
      const name = w.originalName.split('/').pop();
      const shape = w.shape, n = shape.reduce((a, b) => a * b, 1);
      let v;
      if (name === 'kernel') v = rng.normals(n, Math.sqrt(2 / shape.slice(0, -1).reduce((a, b) => a * b, 1)));
      else if (name === 'depthwise_kernel') v = rng.normals(n, Math.sqrt(2 / (shape[0] * shape[1])));
      else if (name === 'bias') v = rng.normals(n, 0.05);
      else if (name === 'gamma' && /^conv\d_block\d+_3_bn$/.test(layer.name)) v = rng.uniforms(n, 0.1, 0.3);
      else if (name === 'gamma') v = rng.uniforms(n, 0.6, 1.4);
      else if (name === 'beta') v = rng.normals(n, 0.15);
      else if (name === 'moving_mean') v = new Float32Array(n);
      else if (name === 'moving_variance') v = new Float32Array(n).fill(1);
      else throw new Error(`${layer.name} (${cls}): no initializer for weight ${name}`);
      return tf.tensor(v, shape, 'float32');
    }));
  }
}

// One eager pass in graph order (m.layers is topologically sorted): each BatchNormalization gets its input's
// moments before it runs; the classifier is scaled on its input at the end.
function calibrate(m, calib) {
  const values = new Map();
  for (const layer of m.layers) {
    const node = layer.inboundNodes[0];
    const ins = node.inboundLayers.map(l => values.get(l.name));
    const cls = layer.getClassName();
    let out;
    if (cls === 'InputLayer') out = calib;
    else {
      const x = ins.length === 1 ? ins[0] : ins;
      if (cls === 'BatchNormalization') {
        const { mean, variance } = tf.moments(x, [0, 1, 2]);
        const [gamma, beta] = layer.getWeights();
        layer.setWeights([gamma, beta, mean, tf.add(variance, 1e-4)]);
      }
      if (layer.name === 'predictions') {
        const [kernel, bias] = layer.getWeights();
        const std = tf.moments(tf.add(tf.matMul(x, kernel), bias), 1).variance.sqrt().mean().dataSync()[0];
        layer.setWeights([tf.mul(kernel, 2 / std), tf.mul(bias, 2 / std)]);
      }
      out = layer.apply(x);
    }
    values.set(layer.name, out);
  }
}

async function save(m, dir) {
  fs.mkdirSync(dir, { recursive: true });
  await m.save(tf.io.withSaveHandler(async art => {
    const weightsManifest = [{ paths: ['weights.bin'], weights: art.weightSpecs }];
    const json = { modelTopology: art.modelTopology, format: art.format, generatedBy: art.generatedBy,
                   convertedBy: null, weightsManifest };
    fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(json));
    fs.writeFileSync(path.join(dir, 'weights.bin'), Buffer.from(art.weightData));
    return { modelArtifactsInfo: { dateSaved: new Date(0), modelTopologyType: 'JSON' } };
  }));
}

(async () => {
  await tf.setBackend('cpu');
  const [inputFile, out, ...names] = process.argv.slice(2);
  if (!out) throw new Error('usage: node bench_models.js INPUT.npy OUT_DIR [resnet50] [efficientnet_b0]');
  const input = readNpyF32(inputFile);
  if (input.shape.slice(-3).join() !== [SIZE, SIZE, 3].join() || input.data.length !== SIZE * SIZE * 3) {
    throw new Error(`${inputFile}: shape [${input.shape}], not one ${SIZE}x${SIZE}x3 input`);
  }
  for (const name of names.length ? names : Object.keys(MODELS)) {
    if (!MODELS[name]) throw new Error(`unknown model ${name}; known: ${Object.keys(MODELS)}`);
    const rng = new Rng(SEED);
    const m = MODELS[name]();
    initWeights(m, rng);
    tf.tidy(() => calibrate(m, tf.tensor(input.data, [1, SIZE, SIZE, 3])));
    await save(m, path.join(out, name));
    console.error(`bench_models: wrote ${path.join(out, name)} (${m.countParams()} parameters)`);
  }
})().catch(e => { console.error(`bench_models: error: ${e.message}`); process.exit(1); });
