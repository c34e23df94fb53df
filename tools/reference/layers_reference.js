// TF.js reference outputs for the layers whose exact numbers are subtle, so that gaze's
// implementations are checked against an independent framework and not only against loops
// written from the same reading of the Keras sources.
//
// Setup and run (see LAYERS.md):  cd tools/reference && npm ci && node layers_reference.js
// Writes tests/fixtures/layers/tfjs_layers.json (about a second, one core).
//
// Each case holds a Keras layer config (what gaze builds the layer from), seeded inputs and
// weights (float32 values, written as the JS numbers they are, so each parses back exactly), and
// the output TF.js 4.22.0 computes on its pure-JS CPU backend. Where TF.js has no layer with
// Keras' semantics, the case says which TF.js ops stand in (field "reference"):
//  - Normalization: TF.js has no such layer; the ops of Keras' formula
//    (keras/src/layers/preprocessing/normalization.py: (x - mean) / maximum(sqrt(var), 1e-7)).
//  - UpSampling2D bilinear: TF.js's layer calls resizeBilinear WITHOUT half-pixel centres, unlike
//    Keras 2 and 3 (tf.image.resize); tf.image.resizeBilinear(x, size, false, true) is TF.js's
//    port of TensorFlow's half-pixel kernel.
//
// 'same' padding cases (Conv2D, DepthwiseConv2D, MaxPooling2D, AveragePooling2D): stride 2 on even
// and odd inputs and kernels of even size, where TF pads total = max((ceil(in/s)-1)*s + k - in, 0)
// with the extra cell at the bottom/right. These also carry "grad": a seeded upstream gradient dy
// and TF.js's d sum(y * dy) / d x (tf.grad), except AveragePooling2D, whose TF.js gradient is not
// the adjoint of its forward under 'same' padding (TORCH.md, "TF.js's AvgPool gradient").
'use strict';

const fs = require('fs');
const path = require('path');
const tf = require('@tensorflow/tfjs');
const { checkPinned, mulberry32 } = require('./ref_util');

const HERE = __dirname;
const OUT = path.resolve(HERE, '..', '..', 'tests', 'fixtures', 'layers', 'tfjs_layers.json');

checkPinned();

// float32 values uniform in [lo, hi).
function uniform(shape, seed, lo = -1, hi = 1) {
  const next = mulberry32(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return Array.from({ length: n }, () => Math.fround(lo + (hi - lo) * next()));
}

const named = (name, shape, values) => ({ name, shape, values });
const values = (t) => Array.from(t.dataSync());

// A layer applied eagerly to inputs, with its weights set in Keras order.
function runLayer(layer, inputs, weights) {
  const xs = inputs.map((i) => tf.tensor(i.values, i.shape));
  const y0 = layer.apply(xs.length === 1 ? xs[0] : xs);  // builds the layer
  y0.dispose();
  if (weights.length) layer.setWeights(weights.map((w) => tf.tensor(w.values, w.shape)));
  const y = layer.apply(xs.length === 1 ? xs[0] : xs);
  return { shape: y.shape, values: values(y) };
}

function cases() {
  const out = [];

  // SeparableConv2D: depth multiplier 2 (channel c*M + m), strides, 'same' padding; and 'valid'
  // with an uneven kernel and no bias.
  {
    const x = named('x', [2, 7, 6, 3], uniform([2, 7, 6, 3], 1));
    const w = [named('depthwise_kernel', [3, 3, 3, 2], uniform([3, 3, 3, 2], 2)),
               named('pointwise_kernel', [1, 1, 6, 4], uniform([1, 1, 6, 4], 3)),
               named('bias', [4], uniform([4], 4))];
    const layer = tf.layers.separableConv2d({ filters: 4, kernelSize: 3, strides: 2, padding: 'same',
                                             depthMultiplier: 2, useBias: true });
    out.push({ name: 'separable_conv2d_same_stride2', class_name: 'SeparableConv2D',
               config: { filters: 4, kernel_size: [3, 3], strides: [2, 2], padding: 'same',
                         depth_multiplier: 2, use_bias: true, activation: 'linear',
                         data_format: 'channels_last', dilation_rate: [1, 1] },
               inputs: [x], weights: w, reference: 'tf.layers.separableConv2d',
               output: runLayer(layer, [x], w) });
  }
  {
    const x = named('x', [1, 6, 7, 4], uniform([1, 6, 7, 4], 5));
    const w = [named('depthwise_kernel', [2, 3, 4, 1], uniform([2, 3, 4, 1], 6)),
               named('pointwise_kernel', [1, 1, 4, 3], uniform([1, 1, 4, 3], 7))];
    const layer = tf.layers.separableConv2d({ filters: 3, kernelSize: [2, 3], padding: 'valid',
                                             useBias: false });
    out.push({ name: 'separable_conv2d_valid_nobias', class_name: 'SeparableConv2D',
               config: { filters: 3, kernel_size: [2, 3], padding: 'valid', use_bias: false },
               inputs: [x], weights: w, reference: 'tf.layers.separableConv2d',
               output: runLayer(layer, [x], w) });
  }

  // LayerNormalization: activations with an offset mean, ConvNeXt's epsilon 1e-6; and scale=False
  // with the default epsilon on rank 3.
  {
    const x = named('x', [2, 3, 4, 8], uniform([2, 3, 4, 8], 8, 2.0, 2.5));
    const w = [named('gamma', [8], uniform([8], 9, 0.5, 1.5)), named('beta', [8], uniform([8], 10))];
    const layer = tf.layers.layerNormalization({ axis: -1, epsilon: 1e-6 });
    out.push({ name: 'layer_normalization_eps1e-6', class_name: 'LayerNormalization',
               config: { axis: [3], epsilon: 1e-6, center: true, scale: true },
               inputs: [x], weights: w, reference: 'tf.layers.layerNormalization',
               output: runLayer(layer, [x], w) });
  }
  {
    const x = named('x', [2, 5, 6], uniform([2, 5, 6], 11, -0.05, 0.05));  // var ~ epsilon
    const w = [named('beta', [6], uniform([6], 12))];
    const layer = tf.layers.layerNormalization({ axis: -1, scale: false });
    out.push({ name: 'layer_normalization_noscale', class_name: 'LayerNormalization',
               config: { axis: -1, epsilon: 0.001, center: true, scale: false },
               inputs: [x], weights: w, reference: 'tf.layers.layerNormalization',
               output: runLayer(layer, [x], w) });
  }

  // Normalization: channel 1's variance is below epsilon^2 (its sqrt, 1e-8, is replaced by 1e-7)
  // and channel 2's is 0.
  {
    const x = named('x', [2, 4, 5, 4], uniform([2, 4, 5, 4], 13, -2, 2));
    const mean = [0.485, -0.25, 0.125, 1.5].map(Math.fround);
    const variance = [0.052441, 1e-16, 0, 2.25].map(Math.fround);
    const xt = tf.tensor(x.values, x.shape);
    const y = tf.div(tf.sub(xt, tf.tensor1d(mean)), tf.maximum(tf.sqrt(tf.tensor1d(variance)), 1e-7));
    const output = { shape: y.shape, values: values(y) };
    const reference = 'tf ops: div(sub(x, mean), maximum(sqrt(variance), 1e-7))';
    out.push({ name: 'normalization_weights', class_name: 'Normalization',
               config: { axis: [-1], invert: false, mean: null, variance: null },
               inputs: [x],
               weights: [named('mean', [4], mean), named('variance', [4], variance),
                         named('count', [], [1000])],
               reference, output });
    out.push({ name: 'normalization_config', class_name: 'Normalization',
               config: { axis: 3, invert: false, mean, variance }, inputs: [x], weights: [],
               reference, output });
  }

  // UpSampling2D: nearest through TF.js's layer, bilinear through the half-pixel op.
  {
    const x = named('x', [2, 3, 4, 2], uniform([2, 3, 4, 2], 14));
    out.push({ name: 'up_sampling2d_nearest', class_name: 'UpSampling2D',
               config: { size: [2, 3], interpolation: 'nearest', data_format: 'channels_last' },
               inputs: [x], weights: [], reference: 'tf.layers.upSampling2d',
               output: runLayer(tf.layers.upSampling2d({ size: [2, 3] }), [x], []) });
    const y = tf.image.resizeBilinear(tf.tensor(x.values, x.shape), [6, 12], false, true);
    out.push({ name: 'up_sampling2d_bilinear', class_name: 'UpSampling2D',
               config: { size: [2, 3], interpolation: 'bilinear', data_format: 'channels_last' },
               inputs: [x], weights: [],
               reference: 'tf.image.resizeBilinear(x, [6, 12], alignCorners=false, halfPixelCenters=true)',
               output: { shape: y.shape, values: values(y) } });
  }

  // Multiply of a map by a squeeze-excite scale [N, 1, 1, C], and by a [N, C] vector (expanded
  // after the batch axis).
  {
    const a = named('a', [2, 4, 5, 3], uniform([2, 4, 5, 3], 15));
    const b = named('b', [2, 1, 1, 3], uniform([2, 1, 1, 3], 16));
    out.push({ name: 'multiply_squeeze_excite', class_name: 'Multiply', config: {},
               inputs: [a, b], weights: [], reference: 'tf.layers.multiply',
               output: runLayer(tf.layers.multiply(), [a, b], []) });
    const v = named('v', [2, 3], uniform([2, 3], 17));
    out.push({ name: 'multiply_rank2', class_name: 'Multiply', config: {},
               inputs: [a, v], weights: [], reference: 'tf.layers.multiply',
               output: runLayer(tf.layers.multiply(), [a, v], []) });
  }

  // Dense on a rank-4 input: the kernel applied to the last axis at every position.
  {
    const x = named('x', [2, 3, 4, 6], uniform([2, 3, 4, 6], 18));
    const w = [named('kernel', [6, 5], uniform([6, 5], 19)), named('bias', [5], uniform([5], 20))];
    out.push({ name: 'dense_rank4', class_name: 'Dense',
               config: { units: 5, activation: 'linear', use_bias: true },
               inputs: [x], weights: w, reference: 'tf.layers.dense',
               output: runLayer(tf.layers.dense({ units: 5 }), [x], w) });
  }
  out.push(...samePaddingCases());
  return out;
}

// The input gradient TF.js computes for the layer (weights already set): d sum(y * dy) / d x.
function inputGradient(layer, x, dy) {
  const g = tf.grad((xt) => tf.sum(tf.mul(layer.apply(xt), tf.tensor(dy.values, dy.shape))));
  const dx = g(tf.tensor(x.values, x.shape));
  return { shape: dx.shape, values: values(dx) };
}

// One 'same'-padding case: the layer run by TF.js, with its input gradient unless `withGrad` is
// false. `seed` seeds the input, the weights (seed + 1, ...) and dy (seed + 9).
function sameCase(name, className, config, [reference, layer], xShape, weightShapes, seed, withGrad = true) {
  const x = named('x', xShape, uniform(xShape, seed));
  const w = weightShapes.map(([n, shape], i) => named(n, shape, uniform(shape, seed + 1 + i)));
  const output = runLayer(layer, [x], w);
  const c = { name, class_name: className, config, inputs: [x], weights: w,
              reference, output };
  if (withGrad) {
    const dy = named('dy', output.shape, uniform(output.shape, seed + 9));
    c.grad = { dy, input_grad: inputGradient(layer, x, dy) };
  }
  return c;
}

function samePaddingCases() {
  const out = [];
  const conv = (name, k, s, xShape, filters, seed) => {
    const kernel = [k[0], k[1], xShape[3], filters];
    out.push(sameCase(name, 'Conv2D',
                      { filters, kernel_size: k, strides: s, padding: 'same', use_bias: true,
                        activation: 'linear', data_format: 'channels_last', dilation_rate: [1, 1] },
                      ['tf.layers.conv2d',
                       tf.layers.conv2d({ filters, kernelSize: k, strides: s, padding: 'same', useBias: true })],
                      xShape, [['kernel', kernel], ['bias', [filters]]], seed));
  };
  // 3x3/2 on 8x7: rows padded (0, 1) (even input), columns (1, 1) (odd input).
  conv('conv2d_same_k3_s2_even_odd', [3, 3], [2, 2], [2, 8, 7, 3], 4, 100);
  // 2x2/1 on 5x6: the one padding cell of each axis at the bottom/right.
  conv('conv2d_same_k2_s1', [2, 2], [1, 1], [1, 5, 6, 3], 3, 110);
  // 4x4/2 on 9x8: rows padded (1, 2), columns (1, 1).
  conv('conv2d_same_k4_s2', [4, 4], [2, 2], [1, 9, 8, 2], 3, 120);
  // 2x3/2 on 6x6: rows padded (0, 0), columns (0, 1).
  conv('conv2d_same_k2x3_s2', [2, 3], [2, 2], [1, 6, 6, 2], 2, 130);

  const depthwise = (name, k, s, xShape, mult, seed) => {
    const c = xShape[3];
    out.push(sameCase(name, 'DepthwiseConv2D',
                      { kernel_size: k, strides: s, padding: 'same', depth_multiplier: mult,
                        use_bias: true, activation: 'linear', data_format: 'channels_last',
                        dilation_rate: [1, 1] },
                      ['tf.layers.depthwiseConv2d',
                       tf.layers.depthwiseConv2d({ kernelSize: k, strides: s, padding: 'same',
                                                   depthMultiplier: mult, useBias: true })],
                      xShape, [['depthwise_kernel', [k[0], k[1], c, mult]], ['bias', [c * mult]]], seed));
  };
  // MobileNetV2's stride-2 depthwise, but 'same' (TF.js and Keras 3 export it so): 8x8, (0, 1).
  depthwise('depthwise_conv2d_same_k3_s2_even', [3, 3], [2, 2], [2, 8, 8, 3], 2, 140);
  depthwise('depthwise_conv2d_same_k3_s2_odd', [3, 3], [2, 2], [1, 7, 9, 4], 1, 150);
  depthwise('depthwise_conv2d_same_k2_s1', [2, 2], [1, 1], [1, 6, 5, 3], 2, 160);
  depthwise('depthwise_conv2d_same_k4_s2', [4, 4], [2, 2], [1, 9, 8, 2], 1, 170);

  const pool = (name, className, [fnName, layerFn], p, s, xShape, seed) => {
    const withGrad = className === 'MaxPooling2D';
    out.push(sameCase(name, className,
                      { pool_size: p, strides: s, padding: 'same', data_format: 'channels_last' },
                      [`tf.layers.${fnName}`, layerFn({ poolSize: p, strides: s, padding: 'same' })],
                      xShape, [], seed, withGrad));
  };
  // Inputs in [-1, 1): a padded cell taken as 0 would win a max and change an average.
  for (const [cls, fn, tag] of [['MaxPooling2D', ['maxPooling2d', tf.layers.maxPooling2d], 'max'],
                                ['AveragePooling2D', ['averagePooling2d', tf.layers.averagePooling2d], 'avg']]) {
    const seed = tag === 'max' ? 200 : 300;
    pool(`${tag}_pool_same_3_s2_even`, cls, fn, [3, 3], [2, 2], [2, 8, 8, 3], seed);
    pool(`${tag}_pool_same_3_s2_odd`, cls, fn, [3, 3], [2, 2], [1, 7, 9, 2], seed + 10);
    pool(`${tag}_pool_same_2_s2_odd`, cls, fn, [2, 2], [2, 2], [1, 7, 7, 2], seed + 20);
    pool(`${tag}_pool_same_2_s1`, cls, fn, [2, 2], [1, 1], [1, 5, 6, 2], seed + 30);
    pool(`${tag}_pool_same_4_s2`, cls, fn, [4, 4], [2, 2], [1, 9, 8, 2], seed + 40);
  }
  return out;
}

async function main() {
  await tf.setBackend('cpu');
  await tf.ready();
  const fixture = { made_by: 'tools/reference/layers_reference.js', tfjs: tf.version.tfjs,
                    backend: tf.getBackend(), cases: cases() };
  fs.mkdirSync(path.dirname(OUT), { recursive: true });
  fs.writeFileSync(OUT, JSON.stringify(fixture) + '\n');
  console.log(`wrote ${path.relative(process.cwd(), OUT)}: ${fixture.cases.length} cases`);
}

main().catch((e) => { console.error(e); process.exit(1); });
