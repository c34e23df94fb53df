// Helpers for families.js: a seeded RNG, exact float32 printing, .npy I/O, and the few Keras features that
// TF.js 4.22 lacks, written as TF.js layers so that TF.js itself computes the reference through them.
//
// What TF.js 4.22 lacks, and what stands in for it here (each follows the Keras source named):
//   - activation 'hard_swish' (Keras 3 hard_silu): x * relu6(x + 3) / 6      keras/src/activations/activations.py
//   - layer Normalization (axis -1, invert=False): (x - mean) / max(sqrt(var), 1e-7)
//                                                   keras/src/layers/preprocessing/normalization.py, call()
//   - GlobalAveragePooling2D(keepdims=True)        keras/src/layers/pooling/global_average_pooling2d.py
//   - Conv2D(groups=g)                             keras/src/layers/convolutional/base_conv.py (kernel
//                                                   (kh, kw, cin/g, filters); output channel o uses input group
//                                                   o // (filters/g))
//   - DepthwiseConv2D(dilation_rate=d): TF.js 4.22 writes dilation_rate to model.json but its call() ignores it
//     (tfjs-layers layers/convolutional_depthwise.js: depthwiseConv2d(..., null), "TODO(cais): Add support for
//     dilation"); the subclass below passes it to tf.depthwiseConv2d, as Keras does.
// Keras-3 hard_sigmoid (relu6(x + 3) / 6) is not registered: TF.js's own 'hard_sigmoid' is clip(0.2x + 0.5, 0, 1)
// and stays so in every model.json; the Keras-3 variant is applied only by the graph runner (families.js) to
// compute what a Keras 3 file with the same config gives.
'use strict';

const tf = require('@tensorflow/tfjs');
// The generator and the .npy I/O are shared with the other reference scripts; the latter re-exported for families.js.
const { mulberry32, writeNpyF32, readNpyF32 } = require('./ref_util');

// ---------------------------------------------------------------------------------------------- RNG

function fnv1a(text) {
  let h = 0x811c9dc5;
  for (const ch of Buffer.from(text, 'utf8')) h = Math.imul(h ^ ch, 0x01000193) >>> 0;
  return h;
}

class Rng {
  constructor(seed) { this.next = mulberry32(seed); }
  uniform(lo = 0, hi = 1) { return lo + (hi - lo) * this.next(); }
  normal() {                                    // Box-Muller; one value per call keeps the stream simple
    const u = 1 - this.next(), v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
  normals(n, std = 1, mean = 0) {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = mean + std * this.normal();
    return out;
  }
  uniforms(n, lo, hi) {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = this.uniform(lo, hi);
    return out;
  }
}

// ---------------------------------------------------------------------------------------------- floats

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

// The float32 neighbours of |v| (v a nonzero finite float32), by stepping its bit pattern.
function neighbours(v) {
  f32[0] = Math.abs(v);
  const bits = u32[0];
  u32[0] = bits + 1;
  const up = f32[0];
  u32[0] = bits - 1;
  const down = f32[0];
  return { down, up };
}

// The shortest decimal that reads back as exactly this float32 by any correctly rounded parser (strtof, or
// strtod then a cast): it must lie inside the rounding interval with a margin, away from the midpoints, so a
// double-rounding path cannot land on a neighbour. Returned as a JS number whose JSON text is that decimal.
function f32num(v) {
  if (!Number.isFinite(v)) throw new Error(`non-finite value ${v}`);
  if (Math.fround(v) !== v) throw new Error(`${v} is not a float32`);
  if (v === 0) return 0;
  const a = Math.abs(v);
  const { down, up } = neighbours(v);
  const halfLo = (a - down) / 2, halfHi = (up - a) / 2;
  for (let p = 1; p <= 9; p++) {
    const x = Number(v.toPrecision(p));
    const d = Math.abs(x) - a;
    if (Math.fround(x) === v && (d >= 0 ? d < 0.999 * halfHi : -d < 0.999 * halfLo)) return x;
  }
  return Number(v.toPrecision(9));              // 9 significant digits always round-trip a float32
}

const f32list = arr => Array.from(arr, f32num);

// ---------------------------------------------------------------------------------------------- TF.js additions

const single = inputs => (Array.isArray(inputs) ? inputs[0] : inputs);

// TF.js does not export its Activation base class; reach it through a built-in activation.
const ActivationBase = Object.getPrototypeOf(Object.getPrototypeOf(
  tf.layers.activation({ activation: 'relu' }).activation)).constructor;

// keras/src/activations/activations.py hard_silu: x * relu6(x + 3) / 6 (serialized 'hard_swish' by TF.js naming).
class HardSwish extends ActivationBase {
  apply(x) { return tf.tidy(() => tf.mul(x, tf.div(tf.relu6(tf.add(x, 3)), 6))); }
}
HardSwish.className = 'hardSwish';
tf.serialization.registerClass(HardSwish);

// Keras 3 hard_sigmoid (keras/src/backend/numpy/nn.py: x / 6 + 0.5 clipped to [0, 1]), used by the graph runner.
const hardSigmoidKeras3 = x => tf.tidy(() => tf.clipByValue(tf.add(tf.div(x, 6), 0.5), 0, 1));

// keras/src/layers/preprocessing/normalization.py, only axis=-1 and invert=False, as the families use it.
// mean/variance from the config when given (EfficientNetV2's stem), else weights mean, variance, count (the
// state adapt() fills; EfficientNet's stem), created in that order as Keras' build() does.
class Normalization extends tf.layers.Layer {
  constructor(args) {
    super(args);
    this.axis = args.axis === undefined ? [-1] : (Array.isArray(args.axis) ? args.axis : [args.axis]);
    if (this.axis.length !== 1 || this.axis[0] !== -1) throw new Error('Normalization: only axis -1 is implemented');
    this.invert = Boolean(args.invert);
    if (this.invert) throw new Error('Normalization: invert=True is not implemented');
    this.mean = args.mean == null ? null : args.mean;
    this.variance = args.variance == null ? null : args.variance;
  }
  build(inputShape) {
    const c = inputShape[inputShape.length - 1];
    if (this.mean == null) {
      this.meanW = this.addWeight('mean', [c], 'float32', tf.initializers.zeros(), null, false);
      this.varianceW = this.addWeight('variance', [c], 'float32', tf.initializers.ones(), null, false);
      this.countW = this.addWeight('count', [], 'int32', tf.initializers.zeros(), null, false);
    }
    this.built = true;
  }
  computeOutputShape(inputShape) { return inputShape; }
  call(inputs) {
    return tf.tidy(() => {
      const x = single(inputs);
      const mean = this.mean == null ? this.meanW.read() : tf.tensor1d(this.mean, 'float32');
      const variance = this.variance == null ? this.varianceW.read() : tf.tensor1d(this.variance, 'float32');
      return tf.div(tf.sub(x, mean), tf.maximum(tf.sqrt(variance), 1e-7));
    });
  }
  getConfig() {
    return { ...super.getConfig(), axis: this.axis, invert: this.invert, mean: this.mean, variance: this.variance };
  }
}
Normalization.className = 'Normalization';
tf.serialization.registerClass(Normalization);

// GlobalAveragePooling2D with Keras' keepdims (config key written only when true, so every other model.json
// stays exactly what stock TF.js writes).
const GapBase = tf.layers.globalAveragePooling2d({}).constructor;
class GlobalAveragePooling2D extends GapBase {
  constructor(args) {
    super(args || {});
    this.keepdims = Boolean(args && args.keepdims);
    if (this.keepdims && this.dataFormat !== 'channelsLast') throw new Error('keepdims: channels_last only');
  }
  computeOutputShape(s) { return this.keepdims ? [s[0], 1, 1, s[3]] : super.computeOutputShape(s); }
  call(inputs, kwargs) {
    if (!this.keepdims) return super.call(inputs, kwargs);
    return tf.tidy(() => tf.mean(single(inputs), [1, 2], true));
  }
  getConfig() {
    const config = super.getConfig();
    if (this.keepdims) config.keepdims = true;
    return config;
  }
}
GlobalAveragePooling2D.className = 'GlobalAveragePooling2D';
tf.serialization.registerClass(GlobalAveragePooling2D);

// Conv2D with Keras' groups (config key written only when groups != 1). groups == 1 is stock TF.js.
const ConvBase = tf.layers.conv2d({ filters: 1, kernelSize: 1 }).constructor;
class Conv2D extends ConvBase {
  constructor(args) {
    super(args);
    this.groups = args.groups == null ? 1 : args.groups;
    if (this.groups !== 1 && this.filters % this.groups !== 0) throw new Error('Conv2D: filters % groups != 0');
  }
  build(inputShape) {
    if (this.groups === 1) return super.build(inputShape);
    const inputDim = inputShape[inputShape.length - 1];
    if (this.dataFormat !== 'channelsLast' || inputDim % this.groups !== 0) throw new Error('Conv2D groups: bad input');
    this.kernel = this.addWeight('kernel', this.kernelSize.concat([inputDim / this.groups, this.filters]), null,
                                 this.kernelInitializer, this.kernelRegularizer, true, this.kernelConstraint);
    if (this.useBias) {
      this.bias = this.addWeight('bias', [this.filters], null, this.biasInitializer, this.biasRegularizer, true,
                                 this.biasConstraint);
    }
    this.inputSpec = [{ ndim: 4, axes: { [-1]: inputDim } }];
    this.built = true;
  }
  call(inputs, kwargs) {
    if (this.groups === 1) return super.call(inputs, kwargs);
    return tf.tidy(() => {
      const xs = tf.split(single(inputs), this.groups, 3);
      const ks = tf.split(this.kernel.read(), this.groups, 3);
      const pad = this.padding === 'same' ? 'same' : 'valid';
      let y = tf.concat(xs.map((x, g) => tf.conv2d(x, ks[g], this.strides, pad, 'NHWC', this.dilationRate)), 3);
      if (this.useBias) y = tf.add(y, this.bias.read());
      return this.activation.apply(y);
    });
  }
  getConfig() {
    const config = super.getConfig();
    if (this.groups !== 1) config.groups = this.groups;
    return config;
  }
}
Conv2D.className = 'Conv2D';
tf.serialization.registerClass(Conv2D);

// DepthwiseConv2D that applies its dilation_rate (stock TF.js when the rate is 1).
const DepthwiseBase = tf.layers.depthwiseConv2d({ kernelSize: 1 }).constructor;
class DepthwiseConv2D extends DepthwiseBase {
  call(inputs, kwargs) {
    if (this.dilationRate.every(d => d === 1)) return super.call(inputs, kwargs);
    if (this.dataFormat !== 'channelsLast') throw new Error('DepthwiseConv2D dilation: channels_last only');
    return tf.tidy(() => {
      let y = tf.depthwiseConv2d(single(inputs), this.depthwiseKernel.read(), this.strides,
                                 this.padding === 'same' ? 'same' : 'valid', 'NHWC', this.dilationRate);
      if (this.useBias) y = tf.add(y, this.bias.read());
      return this.activation.apply(y);
    });
  }
}
DepthwiseConv2D.className = 'DepthwiseConv2D';
tf.serialization.registerClass(DepthwiseConv2D);

module.exports = {
  Rng, fnv1a, f32num, f32list, writeNpyF32, readNpyF32,
  hardSigmoidKeras3, Normalization, GlobalAveragePooling2D, Conv2D, DepthwiseConv2D,
};
