// Reference fixtures for gaze's model families (issue 10, section 4): one small model per keras.applications
// family, built with the TF.js Keras layers API (@tensorflow/tfjs 4.22.0, pure-JS CPU backend), given seeded
// weights, saved in TF.js layers format, and run by TF.js itself for the reference numbers.
//
//   cd tools/reference && npm ci && node families.js            # build every family, write the fixtures
//   node families.js resnet_v1 vgg                               # only these families
//   node families.js --verify                                    # reload every saved model from disk and
//                                                                # check it reproduces reference.json exactly
//
// Writes tests/fixtures/families/inputs/*.npy and, per family, tests/fixtures/families/<family>/:
//   model.json + weights.bin   TF.js layers format (what tf.io.withSaveHandler receives from model.save)
//   reference.json             probabilities, logits, CAM layer, Grad-CAM maps (see README.md there)
//   <input>_activation.npy, <input>_grad_top.npy, <input>_grad_least.npy   float32 [H, W, C] at the CAM layer
// The Keras 3 forms (model.keras, model.weights.h5, config.json) come from keras3_files.py, run afterwards.
//
// Every weight is seeded: He-normal kernels, small biases, BatchNormalization gamma/beta, and moving statistics
// measured on a seeded calibration image (not one of the reference inputs) and then perturbed, so they are
// neither 0/1 nor exactly the statistics of the data. The classifier is scaled so the logits spread about 1.2
// (probabilities neither one-hot nor uniform; the script refuses either).
'use strict';

const fs = require('fs');
const path = require('path');

const tf = require('@tensorflow/tfjs');
const { PNG } = require('pngjs');
const lib = require('./families_lib');
const { checkPinned, checkLittleEndian } = require('./ref_util');
const { Rng, fnv1a, f32list, writeNpyF32, readNpyF32, hardSigmoidKeras3 } = lib;
const { Normalization, GlobalAveragePooling2D, Conv2D, DepthwiseConv2D } = lib;

const HERE = __dirname;
const OUT = path.resolve(HERE, '..', '..', 'tests', 'fixtures', 'families');
const PHOTO = path.resolve(HERE, '..', '..', 'tests', 'fixtures', 'images', 'astronaut_299.png');
const SIZE = 96;
const CLASSES = 5;
const SEED = 20250610;

const PINNED = checkPinned({ pngjs: '7.0.0' });
checkLittleEndian();

const L = tf.layers;

// ---------------------------------------------------------------------------------------------- layer helpers
// Thin wrappers, so a family reads like its keras.applications source. Defaults follow Keras.

function conv(x, name, filters, kernel, o = {}) {
  return new Conv2D({ name, filters, kernelSize: kernel, strides: o.s || 1, padding: o.pad || 'same',
                      useBias: o.bias !== false, activation: o.act || 'linear', dilationRate: o.d || 1,
                      groups: o.groups || 1 }).apply(x);
}
function dwconv(x, name, kernel, o = {}) {
  return new DepthwiseConv2D({ name, kernelSize: kernel, strides: o.s || 1, padding: o.pad || 'same',
                             depthMultiplier: o.m || 1, useBias: o.bias !== false, dilationRate: o.d || 1,
                             activation: o.act || 'linear' }).apply(x);
}
function sepconv(x, name, filters, kernel, o = {}) {
  return L.separableConv2d({ name, filters, kernelSize: kernel, strides: o.s || 1, padding: o.pad || 'same',
                             useBias: o.bias !== false, activation: o.act || 'linear' }).apply(x);
}
const bn = (x, name, eps = 1e-3, momentum = 0.99) =>
  L.batchNormalization({ name, axis: -1, epsilon: eps, momentum }).apply(x);
const act = (x, name, activation) => L.activation({ name, activation }).apply(x);
const relu = (x, name, maxValue) => L.reLU(maxValue === undefined ? { name } : { name, maxValue }).apply(x);
const pad = (x, name, p) => L.zeroPadding2d({ name, padding: typeof p === 'number' ? [[p, p], [p, p]] : p }).apply(x);
const maxpool = (x, name, size, s, padding = 'valid') =>
  L.maxPooling2d({ name, poolSize: size, strides: s, padding }).apply(x);
const avgpool = (x, name, size, s, padding = 'valid') =>
  L.averagePooling2d({ name, poolSize: size, strides: s, padding }).apply(x);
const gap = (x, name, keepdims = false) => new GlobalAveragePooling2D({ name, keepdims }).apply(x);
const dense = (x, name, units, activation = 'linear', useBias = true) =>
  L.dense({ name, units, activation, useBias }).apply(x);
const add = (xs, name) => L.add({ name }).apply(xs);
const mul = (xs, name) => L.multiply({ name }).apply(xs);
const concat = (xs, name) => L.concatenate({ name, axis: -1 }).apply(xs);
const reshape = (x, name, targetShape) => L.reshape({ name, targetShape }).apply(x);
const dropout = (x, name, rate, noiseShape) =>
  L.dropout(noiseShape ? { name, rate, noiseShape } : { name, rate }).apply(x);
const input = (name = 'input_layer', shape = [SIZE, SIZE, 3]) => L.input({ shape, name });
const model = (inputs, outputs, name) => tf.model({ inputs, outputs, name });

// keras/src/applications/imagenet_utils.py correct_pad for channels_last
function correctPad(x, k) {
  const [h, w] = x.shape.slice(1, 3);
  const adjust = [1 - (h % 2), 1 - (w % 2)];
  const c = [Math.floor(k / 2), Math.floor(k / 2)];
  return [[c[0] - adjust[0], c[0]], [c[1] - adjust[1], c[1]]];
}

// ---------------------------------------------------------------------------------------------- families
// Each returns { model, cam, range }: range '01' = pixels / 255, '255' = raw pixel values (models whose stem
// rescales). Each family keeps its characteristic blocks once, with Keras' layer names and classes; widths
// are tiny and blocks few, to keep the fixtures (three copies of each weight file) small. CAM layers are
// 12x12 (6x6 for the tutorial CNN) with 8 to 10 channels.

// keras/src/applications/resnet.py, ResNet50: stem, then block1 (post-activation bottleneck with a conv
// shortcut; the stride sits in the first 1x1 conv).
function resnetV1() {
  const block1 = (x, filters, name, s = 1) => {
    const shortcut = bn(conv(x, `${name}_0_conv`, 4 * filters, 1, { s }), `${name}_0_bn`, 1.001e-5);
    x = act(bn(conv(x, `${name}_1_conv`, filters, 1, { s }), `${name}_1_bn`, 1.001e-5), `${name}_1_relu`, 'relu');
    x = act(bn(conv(x, `${name}_2_conv`, filters, 3), `${name}_2_bn`, 1.001e-5), `${name}_2_relu`, 'relu');
    x = bn(conv(x, `${name}_3_conv`, 4 * filters, 1), `${name}_3_bn`, 1.001e-5);
    return act(add([shortcut, x], `${name}_add`), `${name}_out`, 'relu');
  };
  const inp = input();
  let x = conv(pad(inp, 'conv1_pad', 3), 'conv1_conv', 8, 7, { s: 2, pad: 'valid' });
  x = act(bn(x, 'conv1_bn', 1.001e-5), 'conv1_relu', 'relu');
  x = maxpool(pad(x, 'pool1_pad', 1), 'pool1_pool', 3, 2);             // 24x24x8
  x = block1(x, 2, 'conv2_block1', 2);                                 // 12x12x8
  x = dense(gap(x, 'avg_pool'), 'predictions', CLASSES, 'softmax');
  return { model: model(inp, x, 'resnet50'), cam: 'conv2_block1_out', range: '01' };
}

// keras/src/applications/resnet.py, ResNet50V2: pre-activation block2 whose identity shortcut carries the
// stride as MaxPooling2D(1, strides=2) (the last block of each stack); the stride sits in the padded 3x3 conv.
function resnetV2() {
  const block2 = (x, filters, name, s = 1) => {
    const preact = act(bn(x, `${name}_preact_bn`, 1.001e-5), `${name}_preact_relu`, 'relu');
    const shortcut = s > 1 ? maxpool(x, 'max_pooling2d', 1, s) : x;
    let y = act(bn(conv(preact, `${name}_1_conv`, filters, 1, { bias: false }), `${name}_1_bn`, 1.001e-5),
                `${name}_1_relu`, 'relu');
    y = conv(pad(y, `${name}_2_pad`, 1), `${name}_2_conv`, filters, 3, { s, bias: false, pad: 'valid' });
    y = act(bn(y, `${name}_2_bn`, 1.001e-5), `${name}_2_relu`, 'relu');
    y = conv(y, `${name}_3_conv`, 4 * filters, 1);
    return add([shortcut, y], `${name}_out`);
  };
  const inp = input();
  let x = conv(pad(inp, 'conv1_pad', 3), 'conv1_conv', 8, 7, { s: 2, pad: 'valid' });
  x = maxpool(pad(x, 'pool1_pad', 1), 'pool1_pool', 3, 2);             // 24x24x8
  x = block2(x, 2, 'conv2_block3', 2);                                 // 12x12x8
  x = act(bn(x, 'post_bn', 1.001e-5), 'post_relu', 'relu');
  x = dense(gap(x, 'avg_pool'), 'predictions', CLASSES, 'softmax');
  return { model: model(inp, x, 'resnet50v2'), cam: 'post_relu', range: '01' };
}

// keras/src/applications/vgg16.py: blocks of 3x3 relu convs and 2x2 max pools, Flatten, fc1, fc2. block4_conv1
// is dilated (as DeepLab's VGG is) to cover dilation_rate; it sits before the CAM layer because TF.js 4.22 has
// no gradient for dilated convolutions. The CAM layer is the last spatial layer, block4_pool, not the last conv:
// between a ReLU conv and the logits, a max pool over windows of tied zeros has no defined gradient (TF.js
// routes it to one of the ties, another framework may pick another).
function vgg() {
  const inp = input();
  let x = inp;
  const widths = [[6, 6], [8, 8], [8, 8], [8, 8]];
  widths.forEach((ws, b) => {
    ws.forEach((w, i) => {
      x = conv(x, `block${b + 1}_conv${i + 1}`, w, 3, { act: 'relu', d: b === 3 && i === 0 ? 2 : 1 });
    });
    x = maxpool(x, `block${b + 1}_pool`, 2, 2);
  });
  x = L.flatten({ name: 'flatten' }).apply(x);
  x = dense(dense(x, 'fc1', 8, 'relu'), 'fc2', 8, 'relu');
  x = dense(x, 'predictions', CLASSES, 'softmax');
  return { model: model(inp, x, 'vgg16'), cam: 'block4_pool', range: '01' };
}

// keras/src/applications/xception.py: a valid strided 3x3 stem conv, entry-flow block2 (SeparableConv2D,
// BN, ReLU, SeparableConv2D, BN, max pool, plus a strided 1x1 conv residual), exit-flow block13 (ReLU first)
// and block14.
function xception() {
  const inp = input();
  let x = act(bn(conv(inp, 'block1_conv1', 8, 3, { s: 2, pad: 'valid', bias: false }), 'block1_conv1_bn'),
              'block1_conv1_act', 'relu');                           // 47x47
  let residual = bn(conv(x, 'conv2d', 12, 1, { s: 2, bias: false }), 'batch_normalization');
  x = bn(sepconv(x, 'block2_sepconv1', 12, 3, { bias: false }), 'block2_sepconv1_bn');
  x = act(x, 'block2_sepconv2_act', 'relu');
  x = bn(sepconv(x, 'block2_sepconv2', 12, 3, { bias: false }), 'block2_sepconv2_bn');
  x = add([maxpool(x, 'block2_pool', 3, 2, 'same'), residual], 'add');  // 24x24
  residual = bn(conv(x, 'conv2d_1', 16, 1, { s: 2, bias: false }), 'batch_normalization_1');
  x = act(x, 'block13_sepconv1_act', 'relu');
  x = bn(sepconv(x, 'block13_sepconv1', 12, 3, { bias: false }), 'block13_sepconv1_bn');
  x = act(x, 'block13_sepconv2_act', 'relu');
  x = bn(sepconv(x, 'block13_sepconv2', 16, 3, { bias: false }), 'block13_sepconv2_bn');
  x = add([maxpool(x, 'block13_pool', 3, 2, 'same'), residual], 'add_1');  // 12x12
  x = act(bn(sepconv(x, 'block14_sepconv1', 16, 3, { bias: false }), 'block14_sepconv1_bn'),
          'block14_sepconv1_act', 'relu');
  x = act(bn(sepconv(x, 'block14_sepconv2', 8, 3, { bias: false }), 'block14_sepconv2_bn'),
          'block14_sepconv2_act', 'relu');
  x = dense(gap(x, 'avg_pool'), 'predictions', CLASSES, 'softmax');
  return { model: model(inp, x, 'xception'), cam: 'block14_sepconv2_act', range: '01' };
}

// keras/src/applications/densenet.py: conv_block = BN-relu-1x1 conv-BN-relu-3x3 conv, concatenated to its input;
// transition_block = BN-relu-1x1 conv (halving the channels)-AveragePooling2D.
function densenet() {
  const growth = 4;
  const convBlock = (x, name) => {
    let y = act(bn(x, `${name}_0_bn`, 1.001e-5), `${name}_0_relu`, 'relu');
    y = act(bn(conv(y, `${name}_1_conv`, 4 * growth, 1, { bias: false }), `${name}_1_bn`, 1.001e-5),
            `${name}_1_relu`, 'relu');
    y = conv(y, `${name}_2_conv`, growth, 3, { bias: false });
    return concat([x, y], `${name}_concat`);
  };
  const transition = (x, name) => {
    x = act(bn(x, `${name}_bn`, 1.001e-5), `${name}_relu`, 'relu');
    x = conv(x, `${name}_conv`, Math.floor(x.shape[3] * 0.5), 1, { bias: false });
    return avgpool(x, `${name}_pool`, 2, 2);
  };
  const inp = input();
  let x = conv(pad(inp, 'zero_padding2d', 3), 'conv1_conv', 8, 7, { s: 2, pad: 'valid', bias: false });
  x = act(bn(x, 'conv1_bn', 1.001e-5), 'conv1_relu', 'relu');
  x = maxpool(pad(x, 'zero_padding2d_1', 1), 'pool1', 3, 2);          // 24x24x8
  x = convBlock(x, 'conv2_block1');                                   // 24x24x12
  x = transition(x, 'pool2');                                         // 12x12x6
  x = convBlock(x, 'conv3_block1');                                   // 12x12x10
  x = act(bn(x, 'bn', 1.001e-5), 'relu', 'relu');
  x = dense(gap(x, 'avg_pool'), 'predictions', CLASSES, 'softmax');
  return { model: model(inp, x, 'densenet121'), cam: 'relu', range: '01' };
}

// keras/src/applications/mobilenet.py: depthwise-separable blocks with ReLU(6); a strided depthwise conv is
// ZeroPadding2D(((0, 1), (0, 1))) then 'valid'. Head: GlobalAveragePooling2D(keepdims=True), Dropout, a 1x1
// conv_preds, Reshape, Activation('softmax').
function mobilenetDwBlock(x, filters, id, s = 1) {
  if (s === 2) x = pad(x, `conv_pad_${id}`, [[0, 1], [0, 1]]);
  x = dwconv(x, `conv_dw_${id}`, 3, { s, pad: s === 1 ? 'same' : 'valid', bias: false });
  x = relu(bn(x, `conv_dw_${id}_bn`), `conv_dw_${id}_relu`, 6);
  x = conv(x, `conv_pw_${id}`, filters, 1, { bias: false });
  return relu(bn(x, `conv_pw_${id}_bn`), `conv_pw_${id}_relu`, 6);
}

function mobilenetV1() {
  const inp = input();
  let x = relu(bn(conv(inp, 'conv1', 8, 3, { s: 2, bias: false }), 'conv1_bn'), 'conv1_relu', 6);  // 48x48
  x = mobilenetDwBlock(x, 16, 1, 2);                                  // 24x24
  x = mobilenetDwBlock(x, 8, 2, 2);                                   // 12x12x8
  x = dropout(gap(x, 'global_average_pooling2d', true), 'dropout', 1e-3);
  x = reshape(conv(x, 'conv_preds', CLASSES, 1), 'reshape_2', [CLASSES]);
  x = act(x, 'predictions', 'softmax');
  return { model: model(inp, x, 'mobilenet_0.25_96'), cam: 'conv_pw_2_relu', range: '01' };
}

// keras/src/applications/mobilenet_v2.py: inverted residual blocks (1x1 expand - BN - ReLU6 - 3x3 depthwise
// - BN - ReLU6 - 1x1 linear project - BN, Add when the shape is kept). block_2's depthwise conv is dilated
// (DeepLabV3's MobileNetV2 backbone does this) to cover DepthwiseConv2D dilation_rate.
function mobilenetV2() {
  const block = (x, expansion, filters, id, s = 1, d = 1) => {
    const inputs = x, cin = x.shape[3], prefix = `block_${id}_`;
    x = conv(x, `${prefix}expand`, expansion * cin, 1, { bias: false });
    x = relu(bn(x, `${prefix}expand_BN`, 1e-3, 0.999), `${prefix}expand_relu`, 6);
    if (s === 2) x = pad(x, `${prefix}pad`, correctPad(x, 3));
    x = dwconv(x, `${prefix}depthwise`, 3, { s, pad: s === 1 ? 'same' : 'valid', bias: false, d });
    x = relu(bn(x, `${prefix}depthwise_BN`, 1e-3, 0.999), `${prefix}depthwise_relu`, 6);
    x = bn(conv(x, `${prefix}project`, filters, 1, { bias: false }), `${prefix}project_BN`, 1e-3, 0.999);
    return (s === 1 && cin === filters) ? add([inputs, x], `${prefix}add`) : x;
  };
  const inp = input();
  let x = relu(bn(conv(inp, 'Conv1', 8, 3, { s: 2, bias: false }), 'bn_Conv1', 1e-3, 0.999), 'Conv1_relu', 6);
  x = block(x, 3, 8, 1, 2);                                           // 24x24
  x = block(x, 3, 8, 2, 1, 2);                                        // dilated, residual
  x = block(x, 3, 12, 3, 2);                                          // 12x12
  x = relu(bn(conv(x, 'Conv_1', 8, 1, { bias: false }), 'Conv_1_bn', 1e-3, 0.999), 'out_relu', 6);
  x = dense(gap(x, 'global_average_pooling2d'), 'predictions', CLASSES, 'softmax');
  return { model: model(inp, x, 'mobilenetv2_0.35_96'), cam: 'out_relu', range: '01' };
}

// keras/src/applications/mobilenet_v3.py: Rescaling(1/127.5, -1) stem, hard-swish, squeeze-excite with
// GlobalAveragePooling2D(keepdims=True), 1x1 convs, ReLU and a hard-sigmoid gate, Multiply; the head is
// GlobalAveragePooling2D(keepdims=True), 1x1 conv, hard-swish, Dropout, 1x1 'logits' conv, Flatten,
// Activation('softmax'). Keras 3 writes the gate as ReLU(6)(x + 3) * (1/6) with two math ops (which a config
// can only hold as op nodes); here it is the Activation('hard_sigmoid') that Keras 2 / TF.js models carry, so
// the model.json means clip(0.2x + 0.5) and a Keras 3 file of the same config means relu6(x + 3) / 6:
// reference.json holds both (see README.md).
function mobilenetV3() {
  // keras/src/applications/mobilenet_v3.py _depth: round to a multiple of 8, at least 8, never 10% below
  const depth = v => { let n = Math.max(8, Math.floor((v + 4) / 8) * 8); if (n < 0.9 * v) n += 8; return n; };
  let nAct = 0, nRelu = 0;
  const nextAct = () => (nAct++ === 0 ? 'activation' : `activation_${nAct - 1}`);
  const nextRelu = () => (nRelu++ === 0 ? 're_lu' : `re_lu_${nRelu - 1}`);
  const hswish = x => act(x, nextAct(), 'hardSwish');
  const se = (x, filters, prefix) => {
    let y = gap(x, `${prefix}squeeze_excite_avg_pool`, true);
    y = relu(conv(y, `${prefix}squeeze_excite_conv`, depth(filters * 0.25), 1), `${prefix}squeeze_excite_relu`);
    y = act(conv(y, `${prefix}squeeze_excite_conv_1`, filters, 1), nextAct(), 'hardSigmoid');
    return mul([x, y], `${prefix}squeeze_excite_mul`);
  };
  const block = (x, expansion, filters, k, s, useSe, activation, id) => {
    const prefix = id === 0 ? 'expanded_conv_' : `expanded_conv_${id}_`;
    const cin = x.shape[3];
    if (id !== 0) {
      x = activation(bn(conv(x, `${prefix}expand`, cin * expansion, 1, { bias: false }), `${prefix}expand_bn`,
                        1e-3, 0.999));
    }
    if (s === 2) x = pad(x, `${prefix}depthwise_pad`, correctPad(x, k));
    x = dwconv(x, `${prefix}depthwise`, k, { s, pad: s === 1 ? 'same' : 'valid', bias: false });
    x = activation(bn(x, `${prefix}depthwise_bn`, 1e-3, 0.999));
    if (useSe) x = se(x, x.shape[3], prefix);
    return bn(conv(x, `${prefix}project`, filters, 1, { bias: false }), `${prefix}project_bn`, 1e-3, 0.999);
  };
  const inp = input();
  let x = L.rescaling({ name: 'rescaling', scale: 1 / 127.5, offset: -1 }).apply(inp);
  x = hswish(bn(conv(x, 'conv', 8, 3, { s: 2, bias: false }), 'conv_bn', 1e-3, 0.999));           // 48x48
  x = block(x, 1, 8, 3, 2, true, y => relu(y, nextRelu()), 0);                                      // 24x24
  x = block(x, 3, 12, 5, 2, false, hswish, 1);                                                      // 12x12
  x = hswish(bn(conv(x, 'conv_1', 8, 1, { bias: false }), 'conv_1_bn', 1e-3, 0.999));
  const camName = `activation_${nAct - 1}`;
  x = gap(x, 'global_average_pooling2d', true);
  x = dropout(hswish(conv(x, 'conv_2', 16, 1)), 'dropout', 0.2);
  x = L.flatten({ name: 'flatten' }).apply(conv(x, 'logits', CLASSES, 1));
  x = act(x, 'predictions', 'softmax');
  return { model: model(inp, x, 'MobilenetV3small'), cam: camName, range: '255', keras3HardSigmoid: true };
}

// Squeeze-excite of keras/src/applications/efficientnet.py (and efficientnet_v2.py): GlobalAveragePooling2D,
// Reshape((1, 1, C)), 1x1 conv with the block's activation, 1x1 conv with sigmoid, Multiply.
function effSe(x, filtersIn, name) {
  const c = x.shape[3];
  let y = reshape(gap(x, `${name}se_squeeze`), `${name}se_reshape`, [1, 1, c]);
  y = conv(y, `${name}se_reduce`, Math.max(1, Math.floor(filtersIn * 0.25)), 1, { act: 'swish' });
  y = conv(y, `${name}se_expand`, c, 1, { act: 'sigmoid' });
  return mul([x, y], `${name}se_excite`);
}

// keras/src/applications/efficientnet.py, EfficientNetB0: Rescaling(1/255), Normalization (mean, variance and
// count as weights, the adapt() state), Rescaling(1/sqrt(stddev)) per channel, MBConv blocks with swish, SE,
// strided depthwise convs after correct_pad. (Its residual Dropout(noise_shape) + Add is in efficientnet_v2.)
function efficientnetB0() {
  const block = (x, expand, filtersOut, k, s, name, useSe = true) => {
    const filtersIn = x.shape[3];
    if (expand !== 1) {
      x = conv(x, `${name}expand_conv`, filtersIn * expand, 1, { bias: false });
      x = act(bn(x, `${name}expand_bn`), `${name}expand_activation`, 'swish');
    }
    if (s === 2) x = pad(x, `${name}dwconv_pad`, correctPad(x, k));
    x = dwconv(x, `${name}dwconv`, k, { s, pad: s === 2 ? 'valid' : 'same', bias: false });
    x = act(bn(x, `${name}bn`), `${name}activation`, 'swish');
    if (useSe) x = effSe(x, filtersIn, name);
    return bn(conv(x, `${name}project_conv`, filtersOut, 1, { bias: false }), `${name}project_bn`);
  };
  const inp = input();
  let x = L.rescaling({ name: 'rescaling', scale: 1 / 255 }).apply(inp);
  x = new Normalization({ name: 'normalization', axis: -1 }).apply(x);
  x = L.rescaling({ name: 'rescaling_1', scale: [0.229, 0.224, 0.225].map(s => 1 / Math.sqrt(s)) }).apply(x);
  x = conv(pad(x, 'stem_conv_pad', correctPad(x, 3)), 'stem_conv', 8, 3, { s: 2, pad: 'valid', bias: false });
  x = act(bn(x, 'stem_bn'), 'stem_activation', 'swish');            // 48x48
  x = block(x, 1, 8, 3, 2, 'block1a_');                               // 24x24 (stride 2 here to stay small)
  x = block(x, 3, 12, 5, 2, 'block2a_', false);                       // 12x12
  x = act(bn(conv(x, 'top_conv', 8, 1, { bias: false }), 'top_bn'), 'top_activation', 'swish');
  x = dropout(gap(x, 'avg_pool'), 'top_dropout', 0.2);
  x = dense(x, 'predictions', CLASSES, 'softmax');
  return { model: model(inp, x, 'efficientnetb0'), cam: 'top_activation', range: '255' };
}

// keras/src/applications/efficientnet_v2.py, EfficientNetV2-B0: Rescaling(1/255), Normalization with mean and
// variance in the config (no weights), Fused-MBConv (3x3 expand conv, or the project conv itself when
// expand_ratio is 1; Dropout(noise_shape=(None, 1, 1, 1)) + Add when the shape is kept) and an MBConv block
// with SE.
function efficientnetV2() {
  const fused = (x, expand, filtersOut, s, name) => {
    const inputs = x, filtersIn = x.shape[3];
    if (expand !== 1) {
      x = conv(x, `${name}expand_conv`, filtersIn * expand, 3, { s, bias: false });
      x = act(bn(x, `${name}expand_bn`, 1e-3, 0.9), `${name}expand_activation`, 'swish');
    }
    x = conv(x, `${name}project_conv`, filtersOut, expand === 1 ? 3 : 1, { s: expand === 1 ? s : 1, bias: false });
    x = bn(x, `${name}project_bn`, 1e-3, 0.9);
    if (expand === 1) x = act(x, `${name}project_activation`, 'swish');
    if (s === 1 && filtersIn === filtersOut) {
      x = add([dropout(x, `${name}drop`, 0.025, [null, 1, 1, 1]), inputs], `${name}add`);
    }
    return x;
  };
  const mbconv = (x, expand, filtersOut, s, name) => {
    const filtersIn = x.shape[3];
    x = act(bn(conv(x, `${name}expand_conv`, filtersIn * expand, 1, { bias: false }), `${name}expand_bn`, 1e-3, 0.9),
            `${name}expand_activation`, 'swish');
    x = act(bn(dwconv(x, `${name}dwconv2`, 3, { s, bias: false }), `${name}bn`, 1e-3, 0.9), `${name}activation`,
            'swish');
    x = effSe(x, filtersIn, name);
    return bn(conv(x, `${name}project_conv`, filtersOut, 1, { bias: false }), `${name}project_bn`, 1e-3, 0.9);
  };
  const inp = input();
  let x = L.rescaling({ name: 'rescaling', scale: 1 / 255 }).apply(inp);
  x = new Normalization({ name: 'normalization', axis: -1, mean: [0.485, 0.456, 0.406],
                          variance: [0.229 ** 2, 0.224 ** 2, 0.225 ** 2] }).apply(x);
  x = act(bn(conv(x, 'stem_conv', 8, 3, { s: 2, bias: false }), 'stem_bn', 1e-3, 0.9), 'stem_activation', 'swish');
  x = fused(x, 1, 8, 1, 'block1a_');                                  // 48x48, residual
  x = fused(x, 3, 8, 2, 'block2a_');                                  // 24x24
  x = mbconv(x, 3, 12, 2, 'block3a_');                                // 12x12
  x = act(bn(conv(x, 'top_conv', 8, 1, { bias: false }), 'top_bn', 1e-3, 0.9), 'top_activation', 'swish');
  x = dropout(gap(x, 'avg_pool'), 'top_dropout', 0.2);
  x = dense(x, 'predictions', CLASSES, 'softmax');
  return { model: model(inp, x, 'efficientnetv2-b0'), cam: 'top_activation', range: '255' };
}

// keras/src/applications/convnext.py: PreStem Normalization (mean/variance in the config, on 0..255 pixels), the
// stem and each downsampling block as a nested Sequential, ConvNeXt blocks: 7x7 Conv2D(groups=C),
// LayerNormalization(1e-6), pointwise Dense on rank 4, gelu (exact, erf), Dense, Activation('linear') identity,
// residual Add. Head: GlobalAveragePooling2D, LayerNormalization, Dense. Two departures, because TF.js cannot
// express them: the residual is an Add layer (Keras writes `inputs + x`, a math op node), and there is no
// LayerScale (a Keras-private layer class, keras.src.applications.convnext.LayerScale).
function convnext() {
  const name = 'convnext_tiny';
  const blk = (x, dim, bname) => {
    let y = conv(x, `${bname}_depthwise_conv`, dim, 7, { groups: dim });
    y = L.layerNormalization({ name: `${bname}_layernorm`, epsilon: 1e-6 }).apply(y);
    y = act(dense(y, `${bname}_pointwise_conv_1`, 4 * dim), `${bname}_gelu`, 'gelu');
    y = act(dense(y, `${bname}_pointwise_conv_2`, dim), `${bname}_identity`, 'linear');
    return y;
  };
  const inp = input();
  let x = new Normalization({ name: `${name}_prestem_normalization`, axis: -1,
                              mean: [0.485 * 255, 0.456 * 255, 0.406 * 255],
                              variance: [(0.229 * 255) ** 2, (0.224 * 255) ** 2, (0.225 * 255) ** 2] }).apply(inp);
  const stem = tf.sequential({ name: `${name}_stem`, layers: [
    new Conv2D({ name: `${name}_stem_conv`, filters: 4, kernelSize: 4, strides: 4, inputShape: [SIZE, SIZE, 3] }),
    L.layerNormalization({ name: `${name}_stem_layernorm`, epsilon: 1e-6 })] });
  x = stem.apply(x);                                                  // 24x24x4
  x = add([x, blk(x, 4, `${name}_stage_0_block_0`)], 'add');
  const down = tf.sequential({ name: `${name}_downsampling_block_0`, layers: [
    L.layerNormalization({ name: `${name}_downsampling_layernorm_0`, epsilon: 1e-6, inputShape: [24, 24, 4] }),
    new Conv2D({ name: `${name}_downsampling_conv_0`, filters: 8, kernelSize: 2, strides: 2 })] });
  x = down.apply(x);                                                  // 12x12x8
  x = add([x, blk(x, 8, `${name}_stage_1_block_0`)], 'add_1');
  x = gap(x, `${name}_head_gap`);
  x = L.layerNormalization({ name: `${name}_head_layernorm`, epsilon: 1e-6 }).apply(x);
  x = dense(x, `${name}_head_dense`, CLASSES, 'softmax');
  return { model: model(inp, x, name), cam: 'add_1', range: '255' };
}

// The Keras image-classification tutorial CNN (keras.io/examples/vision/image_classification_from_scratch,
// tensorflow.org/tutorials/images/classification): Sequential, Rescaling(1/255), Conv2D+MaxPooling2D blocks,
// Dropout, Flatten, Dense(relu), Dense (softmax here, so the output is probabilities). The last spatial layer
// is the Dropout (the identity at inference); the CAM layer is the max pool before it, the same tensor.
function sequentialCnn() {
  const m = tf.sequential({ name: 'sequential' });
  m.add(L.rescaling({ name: 'rescaling', scale: 1 / 255, inputShape: [SIZE, SIZE, 3] }));
  [8, 8, 8, 8].forEach((w, i) => {
    const k = i === 0 ? '' : `_${i}`;
    m.add(new Conv2D({ name: `conv2d${k}`, filters: w, kernelSize: 3, padding: 'same', activation: 'relu' }));
    m.add(L.maxPooling2d({ name: `max_pooling2d${k}`, poolSize: 2 }));
  });
  m.add(L.dropout({ name: 'dropout', rate: 0.2 }));
  m.add(L.flatten({ name: 'flatten' }));
  m.add(L.dense({ name: 'dense', units: 16, activation: 'relu' }));
  m.add(L.dense({ name: 'dense_1', units: CLASSES, activation: 'softmax' }));
  return { model: m, cam: 'max_pooling2d_3', range: '255', camAliases: ['dropout'] };
}

// A fine-tuned model as the Keras transfer-learning guide builds it (keras.io/guides/transfer_learning): a
// keras.applications base (a small MobileNet, include_top=False) called as a layer with training=False, then
// GlobalAveragePooling2D -> Dropout -> Dense -> Activation('softmax'). The CAM layer is inside the base.
function finetunedNested() {
  const binp = input('input_layer_1');
  let x = relu(bn(conv(binp, 'conv1', 8, 3, { s: 2, bias: false }), 'conv1_bn'), 'conv1_relu', 6);  // 48x48
  x = mobilenetDwBlock(x, 16, 1, 2);                                  // 24x24
  x = mobilenetDwBlock(x, 8, 2, 2);                                   // 12x12x8
  const base = model(binp, x, 'mobilenet_0.25_96');

  const inp = input();
  let y = L.rescaling({ name: 'rescaling', scale: 1 / 127.5, offset: -1 }).apply(inp);
  y = base.apply(y, { training: false });
  y = dropout(gap(y, 'global_average_pooling2d'), 'dropout', 0.2);
  y = act(dense(y, 'dense', CLASSES), 'predictions', 'softmax');
  return { model: model(inp, y, 'finetuned'), cam: 'mobilenet_0.25_96/conv_pw_2_relu', range: '255' };
}

const FAMILIES = {
  resnet_v1: resnetV1, resnet_v2: resnetV2, vgg, xception, densenet,
  mobilenet_v1: mobilenetV1, mobilenet_v2: mobilenetV2, mobilenet_v3: mobilenetV3,
  efficientnet_b0: efficientnetB0, efficientnet_v2: efficientnetV2, convnext,
  sequential_cnn: sequentialCnn, finetuned_nested: finetunedNested,
};

// ---------------------------------------------------------------------------------------------- graph runner
// Runs a model eagerly layer by layer with concrete tensors (layer.apply), recursing into nested models, so
// that one layer's output can be read (collect) or replaced (override) and the logits - the input of the final
// softmax - can be taken. tf.grad through it gives d logit / d (that layer's output).

const isModel = layer => layer instanceof tf.LayersModel;
const isSequential = m => m instanceof tf.Sequential;
const className = layer => layer.getClassName();
const activationName = layer => (layer.activation ? layer.activation.getClassName() : null);

function applyLayer(layer, ins, opt, pathName) {
  if (opt.override && opt.override.path === pathName) return opt.override.tensor;
  let out;
  if (isModel(layer)) out = runModel(layer, ins, opt, `${pathName}/`).output;
  else if (opt.keras3HardSigmoid && className(layer) === 'Activation' && activationName(layer) === 'hardSigmoid') {
    out = hardSigmoidKeras3(ins[0]);
  } else out = layer.apply(ins.length === 1 ? ins[0] : ins);
  if (opt.collect === pathName) opt.collected = out;
  return out;
}

// The pre-softmax logits of the model's final layer: a Dense with a fused softmax gives x W + b, an
// Activation('softmax') gives its input.
function logitsOf(layer, ins) {
  if (className(layer) === 'Dense' && activationName(layer) === 'softmax') {
    const [kernel, bias] = layer.getWeights();
    return tf.add(tf.matMul(ins[0], kernel), bias);
  }
  if (className(layer) === 'Activation' && activationName(layer) === 'softmax') return ins[0];
  throw new Error(`the final layer ${layer.name} is neither Dense(softmax) nor Activation('softmax')`);
}

function runModel(m, inputs, opt, prefix = '') {
  const top = prefix === '';
  if (isSequential(m)) {
    const layers = m.layers.filter(l => className(l) !== 'InputLayer');
    let x = inputs[0];
    layers.forEach((layer, i) => {
      if (top && opt.wantLogits && i === layers.length - 1) { opt.logits = logitsOf(layer, [x]); }
      x = applyLayer(layer, [x], opt, prefix + layer.name);
    });
    return { output: x };
  }
  const cfg = m.getConfig();
  const values = new Map();
  cfg.inputLayers.forEach(([name], i) => values.set(name, inputs[i]));
  const outName = cfg.outputLayers[0][0];
  if (cfg.outputLayers.length !== 1) throw new Error(`${m.name}: one output expected`);
  for (const lc of cfg.layers) {
    if (lc.className === 'InputLayer') continue;
    if (lc.inboundNodes.length !== 1) throw new Error(`${lc.name}: each layer must be called once`);
    const ins = lc.inboundNodes[0].map(([name, , tensorIndex]) => {
      if (tensorIndex !== 0) throw new Error(`${lc.name}: multi-output layers are not used`);
      return values.get(name);
    });
    const layer = m.getLayer(lc.name);
    if (top && opt.wantLogits && lc.name === outName) opt.logits = logitsOf(layer, ins);
    values.set(lc.name, applyLayer(layer, ins, opt, prefix + lc.name));
  }
  return { output: values.get(outName) };
}

// ---------------------------------------------------------------------------------------------- weights

function layersDeep(m) {                        // every non-model layer, nested models expanded, graph order
  const out = [];
  for (const layer of m.layers) {
    if (isModel(layer)) out.push(...layersDeep(layer));
    else out.push(layer);
  }
  return out;
}

// Seeded values for every weight, by role. He-normal kernels keep ReLU-family activations at unit scale;
// BatchNormalization statistics are set afterwards by calibrate().
function initWeights(m, rng) {
  for (const layer of layersDeep(m)) {
    const ws = layer.weights;
    if (ws.length === 0) continue;
    const cls = className(layer);
    const values = ws.map(w => {
      const name = w.originalName.split('/').pop();
      const shape = w.shape, n = shape.reduce((a, b) => a * b, 1);
      const fanIn = shape.slice(0, -1).reduce((a, b) => a * b, 1);
      let v;
      if (name === 'kernel' && cls === 'DepthwiseConv2D') v = rng.normals(n, Math.sqrt(2 / (shape[0] * shape[1])));
      else if (name === 'kernel') v = rng.normals(n, Math.sqrt(2 / fanIn));
      else if (name === 'depthwise_kernel' && cls === 'SeparableConv2D') {
        v = rng.normals(n, Math.sqrt(1 / (shape[0] * shape[1])));
      } else if (name === 'depthwise_kernel') v = rng.normals(n, Math.sqrt(2 / (shape[0] * shape[1])));
      else if (name === 'pointwise_kernel') v = rng.normals(n, Math.sqrt(2 / shape[2]));
      else if (name === 'bias') v = rng.normals(n, 0.05);
      else if (name === 'gamma') v = rng.uniforms(n, 0.6, 1.4);
      else if (name === 'beta') v = rng.normals(n, 0.15);
      else if (name === 'moving_mean') v = new Float32Array(n);            // calibrate() sets these two
      else if (name === 'moving_variance') v = new Float32Array(n).fill(1);
      else if (name === 'mean' && cls === 'Normalization') v = Float32Array.from([0.485, 0.456, 0.406], (m0, i) => m0 + 0.02 * rng.normal());
      else if (name === 'variance' && cls === 'Normalization') {
        v = Float32Array.from([0.229, 0.224, 0.225], s => s * s * rng.uniform(0.8, 1.25));
      } else if (name === 'count' && cls === 'Normalization') return tf.scalar(1281167, 'int32');  // ImageNet's size
      else throw new Error(`${layer.name}: no initializer for weight ${name}`);
      return tf.tensor(v, shape, 'float32');
    });
    layer.setWeights(values);
  }
}

// The tensor a layer receives inside its parent model (a nested model's last node is its call in the parent).
const layerInput = layer => layer.inboundNodes[layer.inboundNodes.length - 1].inputTensors;

// BatchNormalization moving statistics: measured at the layer's input on the calibration batch, then moved by
// 0.1 standard deviations (mean) and a factor exp(0.25 N(0,1)) (variance), layer after layer in graph order.
function calibrate(m, calib, rng) {
  for (const layer of m.layers) {
    if (isModel(layer)) {
      const sub = tf.model({ inputs: m.inputs, outputs: layerInput(layer)[0] });
      calibrate(layer, sub.predict(calib), rng);
      continue;
    }
    if (className(layer) !== 'BatchNormalization') continue;
    const sub = tf.model({ inputs: m.inputs, outputs: layerInput(layer)[0] });
    const t = sub.predict(calib);
    const { mean, variance } = tf.moments(t, [0, 1, 2]);
    const mu = mean.dataSync(), va = variance.dataSync();
    const [gamma, beta] = layer.getWeights();
    const mm = Float32Array.from(mu, (v, i) => v + 0.1 * Math.sqrt(va[i]) * rng.normal());
    const mv = Float32Array.from(va, v => v * Math.exp(0.25 * rng.normal()) + 1e-4);
    layer.setWeights([gamma, beta, tf.tensor1d(mm), tf.tensor1d(mv)]);
  }
}

// The layer whose kernel makes the logits: the last layer with weights, in graph order.
function classifierLayer(m) {
  const withWeights = layersDeep(m).filter(l => l.weights.length > 0);
  return withWeights[withWeights.length - 1];
}

// Scale the classifier so the logits' spread over the classes (mean over the calibration images) is 1.2.
function scaleClassifier(m, calib, target = 1.2) {
  const opt = { wantLogits: true };
  tf.tidy(() => {
    runModel(m, [calib], opt);
    const std = tf.moments(opt.logits, 1).variance.sqrt().mean().dataSync()[0];
    const layer = classifierLayer(m);
    layer.setWeights(layer.getWeights().map(w => tf.mul(w, target / std)));
  });
}

// ---------------------------------------------------------------------------------------------- inputs

function decodePng(file) {
  const png = PNG.sync.read(fs.readFileSync(file));
  if (png.depth !== 8) throw new Error(`${file}: 8-bit PNG expected`);
  const n = png.width * png.height, rgb = new Float32Array(n * 3);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) rgb[3 * i + c] = png.data[4 * i + c];
    if (png.data[4 * i + 3] !== 255) throw new Error(`${file}: opaque PNG expected`);
  }
  return tf.tensor3d(rgb, [png.height, png.width, 3]);
}

// Two reference inputs in two scales: the photo (tests/fixtures/images/astronaut_299.png, bilinear resize with
// half-pixel centres to 96x96) and seeded uniform noise. '01' = value / 255, '255' = value (0..255).
function makeInputs() {
  const photo255 = tf.tidy(() => tf.image.resizeBilinear(decodePng(PHOTO), [SIZE, SIZE], false, true)
    .clipByValue(0, 255).expandDims(0));
  const rng = new Rng(fnv1a('inputs') ^ SEED);
  const noise01 = tf.tensor4d(rng.uniforms(SIZE * SIZE * 3, 0, 1), [1, SIZE, SIZE, 3]);
  const photo01 = tf.div(photo255, tf.scalar(255));
  const noise255 = tf.mul(noise01, tf.scalar(255));
  // Calibration images (not saved, never a reference input): two smooth random colour fields with a little
  // noise, and one image of uniform noise (from another seed), so the statistics cover both kinds of input.
  const crng = new Rng(fnv1a('calibration') ^ SEED);
  const nCal = 3, cal = new Float32Array(nCal * SIZE * SIZE * 3);
  for (let b = 0; b < nCal; b++) {
    const f = Array.from({ length: 12 }, () => crng.uniform(0.02, 0.15));
    const p = Array.from({ length: 12 }, () => crng.uniform(0, 6.3));
    for (let y = 0; y < SIZE; y++) {
      for (let x = 0; x < SIZE; x++) {
        for (let c = 0; c < 3; c++) {
          const k = 4 * c;
          const v = b === 2 ? crng.next()
            : 0.5 + 0.2 * Math.sin(f[k] * x + p[k]) * Math.cos(f[k + 1] * y + p[k + 1]) +
              0.15 * Math.sin(f[k + 2] * (x + y) + p[k + 2]) + 0.1 * (crng.next() - 0.5);
          cal[((b * SIZE + y) * SIZE + x) * 3 + c] = Math.min(1, Math.max(0, v));
        }
      }
    }
  }
  const calib01 = tf.tensor4d(cal, [nCal, SIZE, SIZE, 3]);
  return {
    photo: { '01': photo01, '255': photo255 }, noise: { '01': noise01, '255': noise255 },
    calib: { '01': calib01, '255': tf.mul(calib01, tf.scalar(255)) },
  };
}

function writeInputs(inputs) {
  const dir = path.join(OUT, 'inputs');
  fs.mkdirSync(dir, { recursive: true });
  const files = {};
  for (const name of ['photo', 'noise']) {
    for (const range of ['01', '255']) {
      const rel = `inputs/${name}_${range}.npy`;
      writeNpyF32(path.join(OUT, rel), inputs[name][range].dataSync(), [1, SIZE, SIZE, 3]);
      const back = readNpyF32(path.join(OUT, rel));
      if (!back.data.every((v, i) => Object.is(v, inputs[name][range].dataSync()[i]))) throw new Error(`${rel}: readback`);
      files[`${name}_${range}`] = rel;
    }
  }
  return files;
}

// ---------------------------------------------------------------------------------------------- reference

function argmax(a) { return a.reduce((best, v, i) => (v > a[best] ? i : best), 0); }
function argmin(a) { return a.reduce((best, v, i) => (v < a[best] ? i : best), 0); }

// Grad-CAM at layer resolution, in float64 from the float32 activation and gradient [H, W, C]:
// alpha_c = mean over (h, w) of the gradient; map = ReLU(sum_c alpha_c A_c); map_linear is the sum before the
// ReLU (for a class whose map is all zero, e.g. often the least probable one, it is what can be compared).
function gradCam(act, grad, [h, w, c]) {
  const alpha = new Float64Array(c);
  for (let i = 0; i < h * w; i++) for (let k = 0; k < c; k++) alpha[k] += grad[i * c + k];
  for (let k = 0; k < c; k++) alpha[k] /= h * w;
  const linear = new Array(h * w);
  for (let i = 0; i < h * w; i++) {
    let s = 0;
    for (let k = 0; k < c; k++) s += alpha[k] * act[i * c + k];
    linear[i] = s;
  }
  return { alpha: Array.from(alpha), map: linear.map(v => Math.max(0, v)), linear };
}

// Everything reference.json records for one input: predict's probabilities, the runner's logits (whose
// softmax must match predict), the CAM layer's activation and the gradients of the top and the least probable
// class's logit with respect to it, and the Grad-CAM maps.
function referenceFor(m, x, camPath, keras3HardSigmoid) {
  const probsPredict = keras3HardSigmoid ? null : Array.from(tf.tidy(() => m.predict(x)).dataSync());
  const opt = { collect: camPath, wantLogits: true, keras3HardSigmoid };
  const { output } = runModel(m, [x], opt);
  const probsRunner = Array.from(output.dataSync());
  const logits = Array.from(opt.logits.dataSync());
  const activation = opt.collected;
  if (!activation) throw new Error(`CAM layer ${camPath} not reached`);
  if (activation.rank !== 4 || activation.shape[0] !== 1) throw new Error(`${camPath}: [1, H, W, C] expected`);
  const probs = probsPredict || probsRunner;
  if (probsPredict) {
    const diff = Math.max(...probsPredict.map((v, i) => Math.abs(v - probsRunner[i])));
    if (diff > 1e-6) throw new Error(`runner and predict disagree by ${diff}`);
  }
  const top = argmax(probs), least = argmin(probs);
  const grad = cls => tf.grad(a => {
    const o = { override: { path: camPath, tensor: a }, wantLogits: true, keras3HardSigmoid };
    runModel(m, [x], o);
    return o.logits.slice([0, cls], [1, 1]).sum();
  })(activation);
  const gTop = grad(top), gLeast = grad(least);
  const shape = activation.shape.slice(1);
  const a = activation.dataSync(), gt = gTop.dataSync(), gl = gLeast.dataSync();
  const camTop = gradCam(a, gt, shape), camLeast = gradCam(a, gl, shape);
  return {
    probs, logits, top, least, shape,
    runner_vs_predict: probsPredict ? Math.max(...probsPredict.map((v, i) => Math.abs(v - probsRunner[i]))) : null,
    arrays: { activation: a, grad_top: gt, grad_least: gl },
    gradcam_top: camTop, gradcam_least: camLeast,
  };
}

// ---------------------------------------------------------------------------------------------- inventory

// The Keras class names, activations and config features a model.json uses, for the C++ side.
function inventory(topology, m) {
  const classes = new Set(), activations = new Set(), features = new Set();
  const walk = (entry, depth) => {
    const cls = entry.class_name, cfg = entry.config;
    if (cls === 'Model' || cls === 'Sequential') {
      if (depth > 0) features.add(`nested ${cls === 'Model' ? 'functional Model' : 'Sequential'}`);
      if (cls === 'Sequential') features.add('Sequential');
      cfg.layers.forEach(l => {
        if (l.inbound_nodes && l.inbound_nodes.some(n => n.some(t => t[3] && Object.keys(t[3]).length))) {
          features.add('call kwargs in inbound_nodes ({"training": false})');
        }
        walk(l, depth + 1);
      });
      return;
    }
    classes.add(cls);
    if (cfg.activation) activations.add(cfg.activation);
    const dil = cfg.dilation_rate;
    if (dil && [].concat(dil).some(d => d !== 1)) features.add(`${cls} dilation_rate`);
    if (cfg.groups && cfg.groups !== 1) features.add(`${cls} groups`);
    if (cfg.keepdims) features.add(`${cls} keepdims`);
    if (cfg.noise_shape) features.add('Dropout noise_shape');
    if (cls === 'Rescaling' && Array.isArray(cfg.scale)) features.add('Rescaling per-channel scale');
    if (cls === 'Rescaling' && cfg.offset) features.add('Rescaling offset');
    if (cls === 'Normalization') features.add(cfg.mean ? 'Normalization mean/variance in config' : 'Normalization mean/variance/count weights');
    if (cls === 'ReLU' && cfg.max_value != null) features.add('ReLU max_value');
  };
  walk(topology, 0);
  for (const layer of layersDeep(m)) {
    const ins = layerInput(layer);
    if (ins.length === 0) continue;
    const rank = ins[0].shape.length;
    if (rank > 2 && ['Dense', 'LayerNormalization'].includes(className(layer))) features.add(`${className(layer)} on rank ${rank}`);
  }
  return { layer_classes: [...classes].sort(), activations: [...activations].sort(), config_features: [...features].sort() };
}

// Every layer's output shape as TF.js inferred it ('outer/inner' inside nested models), for keras3_files.py to
// check its own shape inference against.
function layerShapes(m, prefix = '', out = {}) {
  for (const layer of m.layers) {
    const p = prefix + layer.name;
    out[p] = className(layer) === 'InputLayer' ? layer.batchInputShape : layer.outputShape;
    if (isModel(layer)) layerShapes(layer, `${p}/`, out);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------- save / load

async function saveTfjs(m, dir) {
  let written;
  await m.save(tf.io.withSaveHandler(async artifacts => {
    const modelJson = {
      modelTopology: artifacts.modelTopology, format: artifacts.format, generatedBy: artifacts.generatedBy,
      convertedBy: artifacts.convertedBy === undefined ? null : artifacts.convertedBy,
      weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs }],
    };
    fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(modelJson));
    fs.writeFileSync(path.join(dir, 'weights.bin'), Buffer.from(artifacts.weightData));
    written = modelJson;
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
  }));
  return written;
}

// tf.loadLayersModel through a file handler: model.json and its .bin shards read from the folder.
async function loadTfjs(dir) {
  const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
  const artifacts = await tf.io.getModelArtifactsForJSON(json, async manifest => {
    const specs = [], bufs = [];
    for (const group of manifest) {
      specs.push(...group.weights);
      for (const p of group.paths) bufs.push(fs.readFileSync(path.join(dir, p)));
    }
    const all = Buffer.concat(bufs);
    return [specs, all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength)];
  });
  return tf.loadLayersModel(tf.io.fromMemory(artifacts));
}

// ---------------------------------------------------------------------------------------------- per family

// Indented JSON with every list of numbers or strings kept on one line.
function prettyJson(obj) {
  return JSON.stringify(obj, null, 1).replace(/\[\s+([^\[\]{}]*?)\s+\]/g,
                                               (_, inner) => `[${inner.split(/,\s+/).join(', ')}]`) + '\n';
}

function summarize(ref) {
  const p = ref.probs.map(v => v.toFixed(3)).join(' ');
  const nz = a => a.map.filter(v => v > 0).length;
  return `probs [${p}] top ${ref.top} least ${ref.least} cam>0 ${nz(ref.gradcam_top)}/${ref.gradcam_top.map.length}` +
         ` least-cam>0 ${nz(ref.gradcam_least)}`;
}

function checkSpread(family, key, probs) {
  const max = Math.max(...probs), min = Math.min(...probs);
  if (max > 0.97) throw new Error(`${family} ${key}: nearly one-hot probabilities ${probs}`);
  if (max - min < 0.03) throw new Error(`${family} ${key}: nearly uniform probabilities ${probs}`);
}

function writeArrays(dir, prefix, ref) {
  const files = {};
  for (const [k, v] of Object.entries(ref.arrays)) {
    const rel = `${prefix}_${k}.npy`;
    writeNpyF32(path.join(dir, rel), v, ref.shape);
    files[k] = rel;
  }
  return files;
}

function refJson(ref, files) {
  return {
    probs: f32list(ref.probs), logits: f32list(ref.logits), top: ref.top, least: ref.least,
    runner_vs_predict_max_abs: ref.runner_vs_predict,
    activation: files.activation, grad_top: files.grad_top, grad_least: files.grad_least,
    gradcam_top: { weights: ref.gradcam_top.alpha, map: ref.gradcam_top.map, map_linear: ref.gradcam_top.linear },
    gradcam_least: { weights: ref.gradcam_least.alpha, map: ref.gradcam_least.map,
                     map_linear: ref.gradcam_least.linear },
  };
}

async function buildFamily(family, inputs, inputFiles) {
  const rng = new Rng(fnv1a(family) ^ SEED);
  const spec = FAMILIES[family]();
  const m = spec.model;
  const calib = inputs.calib[spec.range];
  initWeights(m, rng);                           // nested models included
  calibrate(m, calib, rng);                      // a nested base is calibrated on what it receives
  scaleClassifier(m, calib);

  const dir = path.join(OUT, family);
  fs.mkdirSync(dir, { recursive: true });
  for (const f of fs.readdirSync(dir)) if (f.endsWith('.npy')) fs.unlinkSync(path.join(dir, f));
  const modelJson = await saveTfjs(m, dir);

  const out = {
    family, generated_by: `tools/reference/families.js (@tensorflow/tfjs ${PINNED['@tensorflow/tfjs']} cpu backend, ` +
                          `node ${process.version})`,
    model: 'model.json', model_name: m.name, input_shape: [1, SIZE, SIZE, 3], input_range: spec.range,
    classes: CLASSES, cam_layer: spec.cam, cam_layer_aliases: spec.camAliases || [],
    logits: 'the input of the final softmax: x W + b of a Dense(softmax), or the input of Activation(softmax)',
    ...inventory(modelJson.modelTopology, m),
    layer_output_shapes: layerShapes(m),
    inputs: {},
  };
  const lines = [];
  for (const name of ['photo', 'noise']) {
    const x = inputs[name][spec.range];
    const ref = referenceFor(m, x, spec.cam, false);
    checkSpread(family, name, ref.probs);
    out.cam_layer_shape = ref.shape;
    out.inputs[name] = { input: `../${inputFiles[`${name}_${spec.range}`]}`, ...refJson(ref, writeArrays(dir, name, ref)) };
    lines.push(`  ${name}: ${summarize(ref)}`);
    if (spec.keras3HardSigmoid) {
      const ref3 = referenceFor(m, x, spec.cam, true);
      checkSpread(family, `${name} keras3`, ref3.probs);
      out.keras3 = out.keras3 || {
        why: "hard_sigmoid: TF.js and Keras 2 compute clip(0.2x + 0.5, 0, 1); Keras 3 computes relu6(x + 3) / 6. " +
             "model.json means the first; model.keras, config.json + model.weights.h5 (keras_version 3.x) the " +
             'second. This block is the second, computed by the same runner with that one function changed.',
        inputs: {},
      };
      out.keras3.inputs[name] = { input: out.inputs[name].input, ...refJson(ref3, writeArrays(dir, `${name}_keras3`, ref3)) };
      lines.push(`  ${name} (keras3 hard_sigmoid): ${summarize(ref3)}`);
    }
  }
  fs.writeFileSync(path.join(dir, 'reference.json'), prettyJson(out));
  console.log(`${family}: ${m.layers.length} layers, ${m.countParams()} params, CAM ${spec.cam} ${out.cam_layer_shape}`);
  lines.forEach(l => console.log(l));
}

// Reload every saved model from disk and check it reproduces reference.json and the .npy arrays exactly.
async function verifyFamily(family) {
  const dir = path.join(OUT, family);
  const ref = JSON.parse(fs.readFileSync(path.join(dir, 'reference.json'), 'utf8'));
  const m = await loadTfjs(dir);
  let worst = 0;
  const blocks = [[ref.inputs, false]];
  if (ref.keras3) blocks.push([ref.keras3.inputs, true]);
  for (const [block, k3] of blocks) {
    for (const [name, r] of Object.entries(block)) {
      const x = readNpyF32(path.join(dir, r.input));
      const got = referenceFor(m, tf.tensor4d(x.data, x.shape), ref.cam_layer, k3);
      const cmp = (a, b, what) => {
        if (a.length !== b.length) throw new Error(`${family} ${name} ${what}: length`);
        a.forEach((v, i) => { worst = Math.max(worst, Math.abs(v - b[i])); });
      };
      cmp(f32list(got.probs), r.probs, 'probs');
      cmp(f32list(got.logits), r.logits, 'logits');
      for (const k of ['activation', 'grad_top', 'grad_least']) cmp(got.arrays[k], readNpyF32(path.join(dir, r[k])).data, k);
      cmp(got.gradcam_top.map, r.gradcam_top.map, 'gradcam_top');
      cmp(got.gradcam_least.map, r.gradcam_least.map, 'gradcam_least');
      cmp(got.gradcam_top.linear, r.gradcam_top.map_linear, 'gradcam_top linear');
      cmp(got.gradcam_least.linear, r.gradcam_least.map_linear, 'gradcam_least linear');
    }
  }
  console.log(`${family}: reloaded from model.json + weights.bin, max |difference| vs reference ${worst}`);
  if (worst !== 0) throw new Error(`${family}: the reloaded model does not reproduce the reference exactly`);
}

(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
  if (tf.getBackend() !== 'cpu') throw new Error(`backend is ${tf.getBackend()}`);
  const args = process.argv.slice(2);
  const verify = args.includes('--verify');
  const names = args.filter(a => !a.startsWith('--'));
  for (const n of names) if (!FAMILIES[n]) throw new Error(`unknown family ${n}; known: ${Object.keys(FAMILIES)}`);
  const todo = names.length ? names : Object.keys(FAMILIES);
  if (verify) {
    for (const f of todo) await verifyFamily(f);
    return;
  }
  const inputs = makeInputs();
  const inputFiles = writeInputs(inputs);
  for (const f of todo) await buildFamily(f, inputs, inputFiles);
})().catch(e => { console.error(e); process.exit(1); });
