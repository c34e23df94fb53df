"""Independent PyTorch reference for gaze: a generic interpreter of Keras 2 full-model HDF5 files.

It reads the file with h5py alone (no Keras, no TensorFlow) and walks the `model_config` graph
(layers and their inbound nodes), so it knows nothing about InceptionV3 or MobileNetV2 in particular.

    from torch_keras import KerasModel
    model = KerasModel.from_h5("models/nsfwjs_inception_v3.h5", dtype=torch.float64)
    out = model(x_nhwc, capture=["mixed10"])       # x: [N,H,W,C] numpy array or tensor
    out.probs, out.logits, out.outputs["mixed10"]  # outputs are NHWC, like Keras

Semantics reproduced (TensorFlow / Keras 2, channels_last):
  * Conv2D / DepthwiseConv2D: cross-correlation; 'same' padding as TF: total = max((ceil(in/s)-1)*s + k_eff - in, 0),
    before = total // 2, the extra cell after (bottom/right). Kernels [kh,kw,in,out] / [kh,kw,in,mult].
  * BatchNormalization (inference): y = (x - mean) / sqrt(var + eps) * gamma + beta (gamma/beta absent when
    scale/center is False).
  * MaxPooling2D 'same': padded with -inf. AveragePooling2D 'same': divides by the count of real (unpadded)
    cells, also when the padding is asymmetric (sum over an explicitly zero-padded input / pooled ones-mask).
  * Flatten flattens in NHWC order. Dense keeps its pre-activation ("logits" for the output layer).
  * Dropout is the identity (inference).
  * ReLU gradients follow TF: relu'(x) = [x > 0]; ReLU(max_value) passes the gradient only where 0 < x < max.
  * MaxPool gradient goes to the first maximal cell of the window in row-major order (PyTorch CPU and TF CPU).

Internally tensors are NCHW (optionally in channels_last memory format); everything that leaves the module
(captured layer outputs) is NHWC. Values fed in (`override`) are NHWC too.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

import h5py
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


# ----------------------------------------------------------------------------------------------- h5 reading

def _str(x):
    return x.decode("utf-8") if isinstance(x, (bytes, np.bytes_)) else str(x)


def read_keras_h5(path):
    """Returns (model_config dict, {layer_name: {short_weight_name: float32 ndarray}}, root attrs dict)."""
    with h5py.File(path, "r") as f:
        attrs = {k: _str(v) if isinstance(v, (bytes, np.bytes_, str)) else v for k, v in f.attrs.items()}
        if "model_config" not in f.attrs:
            raise ValueError(f"{path}: no model_config attribute (not a Keras full-model file)")
        config = json.loads(_str(f.attrs["model_config"]))
        g = f["model_weights"] if "model_weights" in f else f
        weights = {}
        for lname in g.attrs.get("layer_names", []):
            lname = _str(lname)
            lg = g[lname]
            ws = {}
            for wname in lg.attrs.get("weight_names", []):
                wname = _str(wname)
                short = wname.split("/")[-1].split(":")[0]      # "conv2d_1/kernel:0" -> "kernel"
                if short in ws:
                    raise ValueError(f"{path}: layer {lname} has two weights named {short}")
                ws[short] = np.asarray(lg[wname])
            weights[lname] = ws
    return config, weights, attrs


# ----------------------------------------------------------------------------------------------- helpers

def _pair(v):
    if isinstance(v, int):
        return (v, v)
    v = list(v)
    return (v[0], v[0]) if len(v) == 1 else (int(v[0]), int(v[1]))


def tf_same_pads(size, k, s, d=1):
    """TensorFlow 'same' padding along one axis: (before, after); the extra cell goes after."""
    k_eff = (k - 1) * d + 1
    out = -(-size // s)                                          # ceil(size / s)
    total = max((out - 1) * s + k_eff - size, 0)
    return total // 2, total - total // 2


def _pads_2d(x, kernel, strides, dilation, padding):
    """F.pad argument (left, right, top, bottom) for an NCHW tensor, or None for 'valid'."""
    if padding == "valid":
        return None
    if padding != "same":
        raise NotImplementedError(f"padding {padding!r}")
    top, bottom = tf_same_pads(x.shape[2], kernel[0], strides[0], dilation[0])
    left, right = tf_same_pads(x.shape[3], kernel[1], strides[1], dilation[1])
    if top == bottom == left == right == 0:
        return None
    return (left, right, top, bottom)


def _channel_dim(x):
    return 1 if x.dim() == 4 else x.dim() - 1                    # NCHW inside; Keras axis -1 == channels


def _keras_axis_to_internal(axis, ndim):
    if axis < 0:
        axis += ndim
    if ndim == 4:
        return {0: 0, 1: 2, 2: 3, 3: 1}[axis]
    return axis


class _Relu6Like(torch.autograd.Function):
    """min(max(x, 0), m) whose gradient is [0 < x < m], as TF's Relu6Grad (torch.clamp passes it at the ends)."""

    @staticmethod
    def forward(ctx, x, m):
        ctx.save_for_backward(x)
        ctx.m = m
        return x.clamp(0, m)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * ((x > 0) & (x < ctx.m)).to(g.dtype), None


def apply_activation(name, x):
    if name in ("linear", None):
        return x
    if name == "relu":
        return F.relu(x)
    if name == "relu6":
        return _Relu6Like.apply(x, 6.0)
    if name == "softmax":
        return torch.softmax(x, dim=_channel_dim(x))
    if name == "sigmoid":
        return torch.sigmoid(x)
    if name == "tanh":
        return torch.tanh(x)
    if name == "elu":
        return F.elu(x)
    if name == "selu":
        return F.selu(x)
    if name == "softplus":
        return F.softplus(x)
    if name == "softsign":
        return F.softsign(x)
    if name == "swish":
        return x * torch.sigmoid(x)
    if name == "hard_sigmoid":                                   # Keras 2: clip(0.2 x + 0.5, 0, 1)
        return (0.2 * x + 0.5).clamp(0, 1)
    raise NotImplementedError(f"activation {name!r}")


class _GuidedGate(torch.autograd.Function):
    """The identity, whose backward passes only the positive part of the gradient. Placed right after a
    ReLU-family activation (KerasModel(guided=True)), it turns that ReLU's backward f'(x) * dy into
    f'(x) * max(dy, 0): the guided ReLU rule of guided backpropagation (Springenberg et al. 2015), which
    passes a gradient only where it is positive and the ReLU's input is (its gradient f'(x) is non-zero)."""

    @staticmethod
    def forward(ctx, x):
        return x.clone()

    @staticmethod
    def backward(ctx, g):
        return g.clamp(min=0)


_RELU_ACTIVATIONS = ("relu", "relu6")


def _ends_in_relu(cls, mod):
    """Whether the layer's output is a ReLU-family activation's output (ReLU layer, relu/relu6 Activation,
    or a Conv2D/DepthwiseConv2D/Dense with a fused relu/relu6)."""
    if cls == "ReLU":
        return True
    if cls == "Activation":
        return mod.config.get("activation") in _RELU_ACTIVATIONS
    return getattr(mod, "activation", None) in _RELU_ACTIVATIONS


class _TfjsAvgPoolGrad(torch.autograd.Function):
    """Forward: the correct TF 'same' average pool (sum of real cells / their count). Backward: what TF.js's
    CPU AvgPoolGrad computes, i.e. dy spread with 1/(kh*kw) everywhere, ignoring the real count. Used only to
    measure what that TF.js behaviour changes (KerasModel(avgpool_grad='tfjs'))."""

    @staticmethod
    def forward(ctx, x, k, s, pads):
        ctx.k, ctx.s, ctx.pads, ctx.shape = k, s, pads, x.shape
        xp = F.pad(x, pads)
        ones = F.pad(torch.ones_like(x[:1, :1]), pads)
        return F.avg_pool2d(xp, k, s) / F.avg_pool2d(ones, k, s)

    @staticmethod
    def backward(ctx, g):
        with torch.enable_grad():
            z = torch.zeros(ctx.shape, dtype=g.dtype, device=g.device, requires_grad=True)
            y = F.avg_pool2d(F.pad(z, ctx.pads), ctx.k, ctx.s)       # divides by kh*kw everywhere
            (gx,) = torch.autograd.grad(y, z, g)
        return gx, None, None, None


# ----------------------------------------------------------------------------------------------- layers

class Layer(nn.Module):
    keras_class = "?"

    def __init__(self, name, config):
        super().__init__()
        self.name = name
        self.config = config

    def forward(self, *xs):
        raise NotImplementedError


class InputLayer(Layer):
    pass


class Conv2D(Layer):
    def __init__(self, name, config, w, depthwise=False):
        super().__init__(name, config)
        if config.get("data_format", "channels_last") != "channels_last":
            raise NotImplementedError("only channels_last Keras models")
        self.kernel = _pair(config["kernel_size"])
        self.strides = _pair(config.get("strides", 1))
        self.dilation = _pair(config.get("dilation_rate", 1))
        self.padding = config.get("padding", "valid")
        self.activation = config.get("activation", "linear")
        self.depthwise = depthwise
        if depthwise:
            k = w["depthwise_kernel"]                            # [kh, kw, in, mult]
            kh, kw, cin, mult = k.shape
            # Keras output channel c*mult + m = torch group c, member m.
            wt = k.reshape(kh, kw, cin * mult).transpose(2, 0, 1)[:, None, :, :]
            self.groups = cin
        else:
            k = w["kernel"]                                      # [kh, kw, in/groups, out]
            wt = k.transpose(3, 2, 0, 1)
            self.groups = int(config.get("groups", 1))
        self.register_buffer("weight", torch.from_numpy(np.ascontiguousarray(wt)).to(torch.float64))
        use_bias = config.get("use_bias", True)
        b = torch.from_numpy(w["bias"]).to(torch.float64) if use_bias else None
        self.register_buffer("bias", b)
        self.folded = None                                       # name of the BN folded into it

    def fold_batchnorm(self, bn):
        if self.activation not in ("linear", None):
            raise ValueError("cannot fold a BN after a non-linear activation")
        scale, shift = bn.scale.to(torch.float64), bn.shift.to(torch.float64)
        self.weight = self.weight.to(torch.float64) * scale.view(-1, 1, 1, 1)
        b = self.bias.to(torch.float64) if self.bias is not None else torch.zeros_like(scale)
        self.bias = b * scale + shift
        self.folded = bn.name

    def forward(self, x):
        pads = _pads_2d(x, self.kernel, self.strides, self.dilation, self.padding)
        if pads is not None:
            x = F.pad(x, pads)
        y = F.conv2d(x, self.weight, self.bias, self.strides, 0, self.dilation, self.groups)
        return apply_activation(self.activation, y)


class BatchNormalization(Layer):
    def __init__(self, name, config, w):
        super().__init__(name, config)
        axis = config.get("axis", -1)
        axis = axis[0] if isinstance(axis, list) and len(axis) == 1 else axis
        if axis not in (-1, 3, 1):                               # axis 1 only for 2D (Dense) inputs
            raise NotImplementedError(f"BatchNormalization axis {axis}")
        self.axis = axis
        eps = float(config.get("epsilon", 1e-3))
        mean = w["moving_mean"].astype(np.float64)
        var = w["moving_variance"].astype(np.float64)
        gamma = w["gamma"].astype(np.float64) if config.get("scale", True) else np.ones_like(mean)
        beta = w["beta"].astype(np.float64) if config.get("center", True) else np.zeros_like(mean)
        scale = gamma / np.sqrt(var + eps)
        self.register_buffer("scale", torch.from_numpy(scale))
        self.register_buffer("shift", torch.from_numpy(beta - mean * scale))
        self.identity = False                                    # True once folded into the conv before it

    def forward(self, x):
        if self.identity:
            return x
        shape = [1, -1, 1, 1] if x.dim() == 4 else [1, -1]
        return x * self.scale.view(shape) + self.shift.view(shape)


class Activation(Layer):
    def forward(self, x):
        return apply_activation(self.config["activation"], x)


class ReLU(Layer):
    def forward(self, x):
        m = self.config.get("max_value")
        slope = float(self.config.get("negative_slope", 0) or 0)
        thr = float(self.config.get("threshold", 0) or 0)
        if slope == 0 and thr == 0:
            return F.relu(x) if m is None else _Relu6Like.apply(x, float(m))
        # general Keras ReLU: x >= max -> max; thr <= x < max -> x; x < thr -> slope * (x - thr)
        y = torch.where(x >= thr, x, slope * (x - thr))
        if m is not None:
            y = torch.where(x >= m, torch.full_like(x, float(m)), y)
        return y


class Pool2D(Layer):
    def __init__(self, name, config, kind, avgpool_grad="exact"):
        super().__init__(name, config)
        if config.get("data_format", "channels_last") != "channels_last":
            raise NotImplementedError("only channels_last Keras models")
        self.kind = kind
        self.pool = _pair(config.get("pool_size", 2))
        st = config.get("strides")
        self.strides = _pair(st) if st is not None else self.pool
        self.padding = config.get("padding", "valid")
        self.avgpool_grad = avgpool_grad

    def forward(self, x):
        pads = _pads_2d(x, self.pool, self.strides, (1, 1), self.padding)
        if self.kind == "max":
            if pads is not None:
                x = F.pad(x, pads, value=-math.inf)
            return F.max_pool2d(x, self.pool, self.strides)
        if pads is None:
            return F.avg_pool2d(x, self.pool, self.strides)
        if self.avgpool_grad == "tfjs":
            return _TfjsAvgPoolGrad.apply(x, self.pool, self.strides, pads)
        # TF: average over the real cells only. avg_pool2d of the zero-padded input is sum / (kh*kw);
        # the same pool of a padded ones-mask is count / (kh*kw): their ratio is sum / count.
        ones = F.pad(torch.ones_like(x[:1, :1]), pads)
        return F.avg_pool2d(F.pad(x, pads), self.pool, self.strides) / F.avg_pool2d(ones, self.pool, self.strides)


class GlobalPool2D(Layer):
    def __init__(self, name, config, kind):
        super().__init__(name, config)
        self.kind = kind

    def forward(self, x):
        y = x.mean(dim=(2, 3)) if self.kind == "avg" else x.amax(dim=(2, 3))
        if self.config.get("keepdims", False):
            y = y[:, :, None, None]
        return y


class Merge(Layer):
    def __init__(self, name, config, kind):
        super().__init__(name, config)
        self.kind = kind

    def forward(self, *xs):
        if self.kind == "concat":
            return torch.cat(xs, dim=_keras_axis_to_internal(self.config.get("axis", -1), xs[0].dim()))
        y = xs[0]
        for x in xs[1:]:
            if self.kind == "add":
                y = y + x
            elif self.kind == "multiply":
                y = y * x
            elif self.kind == "maximum":
                y = torch.maximum(y, x)
            elif self.kind == "minimum":
                y = torch.minimum(y, x)
            elif self.kind in ("average", "subtract"):
                y = y + x if self.kind == "average" else y - x
        return y / len(xs) if self.kind == "average" else y


class Flatten(Layer):
    def forward(self, x):
        if x.dim() == 4:
            x = x.permute(0, 2, 3, 1)                            # Keras flattens NHWC
        return x.reshape(x.shape[0], -1)


class Dense(Layer):
    def __init__(self, name, config, w):
        super().__init__(name, config)
        self.activation = config.get("activation", "linear")
        self.register_buffer("weight", torch.from_numpy(np.ascontiguousarray(w["kernel"].T)).to(torch.float64))
        b = torch.from_numpy(w["bias"]).to(torch.float64) if config.get("use_bias", True) else None
        self.register_buffer("bias", b)

    def pre(self, x):
        if x.dim() != 2:
            raise NotImplementedError("Dense on a non-2D input")
        return F.linear(x, self.weight, self.bias)

    def forward(self, x):
        return apply_activation(self.activation, self.pre(x))


class Identity(Layer):
    def forward(self, x):
        return x


class ZeroPadding2D(Layer):
    def forward(self, x):
        p = self.config.get("padding", 1)
        if isinstance(p, int):
            (t, b), (l, r) = (p, p), (p, p)
        elif isinstance(p[0], int):
            (t, b), (l, r) = (p[0], p[0]), (p[1], p[1])
        else:
            (t, b), (l, r) = p
        return F.pad(x, (l, r, t, b))


class Reshape(Layer):
    def forward(self, x):
        if x.dim() == 4:
            x = x.permute(0, 2, 3, 1)
        y = x.reshape(x.shape[0], *self.config["target_shape"])
        return y.permute(0, 3, 1, 2) if y.dim() == 4 else y


def make_layer(cls, name, config, w, avgpool_grad):
    if cls == "InputLayer":
        return InputLayer(name, config)
    if cls == "Conv2D":
        return Conv2D(name, config, w)
    if cls == "DepthwiseConv2D":
        if int(config.get("depth_multiplier", 1)) < 1:
            raise ValueError("depth_multiplier")
        return Conv2D(name, config, w, depthwise=True)
    if cls == "BatchNormalization":
        return BatchNormalization(name, config, w)
    if cls == "Activation":
        return Activation(name, config)
    if cls == "ReLU":
        return ReLU(name, config)
    if cls == "MaxPooling2D":
        return Pool2D(name, config, "max")
    if cls == "AveragePooling2D":
        return Pool2D(name, config, "avg", avgpool_grad)
    if cls == "GlobalAveragePooling2D":
        return GlobalPool2D(name, config, "avg")
    if cls == "GlobalMaxPooling2D":
        return GlobalPool2D(name, config, "max")
    if cls in ("Concatenate", "Add", "Multiply", "Maximum", "Minimum", "Average", "Subtract"):
        return Merge(name, config, {"Concatenate": "concat"}.get(cls, cls.lower()))
    if cls == "Flatten":
        return Flatten(name, config)
    if cls == "Dense":
        return Dense(name, config, w)
    if cls in ("Dropout", "SpatialDropout2D", "GaussianNoise", "GaussianDropout", "AlphaDropout"):
        return Identity(name, config)
    if cls == "ZeroPadding2D":
        return ZeroPadding2D(name, config)
    if cls == "Reshape":
        return Reshape(name, config)
    raise NotImplementedError(f"Keras layer class {cls} ({name})")


# ----------------------------------------------------------------------------------------------- the model

@dataclass
class Output:
    probs: torch.Tensor            # [N, classes]: the output layer's activation (softmax)
    logits: torch.Tensor           # [N, classes]: the output Dense's pre-activation
    outputs: dict = field(default_factory=dict)   # requested layers, NHWC


def _graph_from_config(config):
    """[(name, class_name, layer config, [input names])] in topological order, plus input/output names."""
    cls = config["class_name"]
    cfg = config["config"]
    if cls == "Sequential":
        layers = cfg["layers"] if isinstance(cfg, dict) else cfg
        nodes = []
        first = layers[0]
        if first["class_name"] != "InputLayer":
            shape = first["config"].get("batch_input_shape")
            nodes.append(("input", "InputLayer", {"batch_input_shape": shape}, []))
        prev = None if first["class_name"] == "InputLayer" else "input"
        for l in layers:
            nodes.append((l["config"]["name"], l["class_name"], l["config"], [prev] if prev else []))
            prev = l["config"]["name"]
        return nodes, [nodes[0][0]], [prev]
    if cls not in ("Model", "Functional"):
        raise NotImplementedError(f"model class {cls}")
    nodes = {}
    order = []
    for l in cfg["layers"]:
        inbound = l.get("inbound_nodes", [])
        if len(inbound) > 1:
            raise NotImplementedError(f"layer {l['name']} is called more than once (shared layers)")
        ins = []
        for ref in (inbound[0] if inbound else []):
            if ref[1] != 0 or ref[2] != 0:
                raise NotImplementedError(f"layer {l['name']}: input {ref} is not node 0 / tensor 0")
            ins.append(ref[0])
        nodes[l["name"]] = (l["name"], l["class_name"], l["config"], ins)
        order.append(l["name"])
    # topological sort (stable w.r.t. the file order)
    done, out = set(), []

    def visit(n, stack=()):
        if n in done:
            return
        if n in stack:
            raise ValueError(f"cycle at {n}")
        for i in nodes[n][3]:
            visit(i, stack + (n,))
        done.add(n)
        out.append(nodes[n])

    for n in order:
        visit(n)
    ins = [r[0] for r in cfg["input_layers"]]
    outs = [r[0] for r in cfg["output_layers"]]
    if len(ins) != 1 or len(outs) != 1:
        raise NotImplementedError("single-input single-output models only")
    return out, ins, outs


class KerasModel(nn.Module):
    """Interprets a Keras graph. dtype: torch.float32 / float64; channels_last: memory format of 4D tensors
    and conv weights (NCHW logical layout either way); fold_bn: fold each BatchNormalization into the
    Conv2D/DepthwiseConv2D that feeds it alone (then that conv's own output is no longer available);
    avgpool_grad: 'exact' (default) or 'tfjs' (TF.js's AvgPoolGrad, see _TfjsAvgPoolGrad);
    guided: backward passes follow the guided ReLU rule (see _GuidedGate; default False: plain autograd)."""

    def __init__(self, config, weights, dtype=torch.float32, channels_last=False, fold_bn=False,
                 avgpool_grad="exact", attrs=None, guided=False):
        super().__init__()
        self.guided = guided
        self.nodes, ins, outs = _graph_from_config(config)
        self.input_name, self.output_name = ins[0], outs[0]
        self.attrs = attrs or {}
        self.layers = nn.ModuleDict()
        self._key = {}
        for name, cls, cfg, _ in self.nodes:
            key = name.replace(".", "_")
            if key in self.layers:
                key = f"{key}__{len(self.layers)}"
            self._key[name] = key
            self.layers[key] = make_layer(cls, name, cfg, weights.get(name, {}), avgpool_grad)
        self.inputs_of = {n[0]: n[3] for n in self.nodes}
        self.consumers = {n[0]: [] for n in self.nodes}
        for name, _, _, ins_ in self.nodes:
            for i in ins_:
                self.consumers[i].append(name)
        out_layer = self.layer(self.output_name)
        if not isinstance(out_layer, Dense):
            raise NotImplementedError("the output layer must be a Dense (its pre-activation is the logit)")
        self.folded = {}
        if fold_bn:
            for name, cls, _, ins_ in self.nodes:
                if cls != "BatchNormalization" or len(ins_) != 1:
                    continue
                src = self.layer(ins_[0])
                if isinstance(src, Conv2D) and src.activation in ("linear", None) and \
                        len(self.consumers[ins_[0]]) == 1 and src.folded is None:
                    src.fold_batchnorm(self.layer(name))
                    self.layer(name).identity = True
                    self.folded[ins_[0]] = name
        self.channels_last = channels_last
        self.to(dtype)
        if channels_last:
            self.to(memory_format=torch.channels_last)
        self.dtype = dtype

    @classmethod
    def from_h5(cls, path, **kw):
        config, weights, attrs = read_keras_h5(path)
        return cls(config, weights, attrs=attrs, **kw)

    def layer(self, name):
        return self.layers[self._key[name]]

    @property
    def layer_names(self):
        return [n[0] for n in self.nodes]

    # -- layout conversion
    def to_internal(self, t):
        t = torch.as_tensor(t)
        if t.dtype != self.dtype:
            t = t.to(self.dtype)
        if t.dim() == 4:
            t = t.permute(0, 3, 1, 2)
            t = t.contiguous(memory_format=torch.channels_last if self.channels_last else torch.contiguous_format)
        return t

    @staticmethod
    def to_nhwc(t):
        return t.permute(0, 2, 3, 1) if t.dim() == 4 else t

    def downstream(self, names):
        """All nodes whose value depends on any of `names` (including them)."""
        dep = set(names)
        for n, _, _, ins in self.nodes:
            if any(i in dep for i in ins):
                dep.add(n)
        return dep

    def frontier(self, names):
        """The nodes, not downstream of `names`, whose values the downstream part reads: what forward_from
        needs in `base` besides the overridden values (empty for a chain of blocks like Inception's mixedN)."""
        dep = self.downstream(names)
        need = set()
        for n in dep:
            if n in names:
                continue
            for i in self.inputs_of[n]:
                if i not in dep:
                    need.add(i)
        return sorted(need)

    def run(self, x=None, capture=(), override=None, base=None, internal=False):
        """Core evaluator. x: NHWC input (may be None when `override` cuts every path from the input).
        override: {layer: NHWC value} fed in place of those layers' outputs; only the layers downstream of
        them are computed, the others are read from `base` ({layer: value as returned by a capture}).
        Returns Output; outputs are NHWC unless internal=True."""
        override = override or {}
        base = base or {}
        if override:
            todo = self.downstream(override.keys())
        else:
            todo = None
        need = self._needed(capture, override, todo)
        vals, pre = {}, {}
        order = [n for n in self.nodes if n[0] in need]
        last_use = {}
        for pos, (name, _, _, ins) in enumerate(order):
            if name in override or (todo is not None and name not in todo):
                continue
            for i in ins:
                last_use[i] = pos
        keep = set(capture) | {self.output_name}
        for pos, (name, cls, _, ins) in enumerate(order):
            if name in override:
                vals[name] = self.to_internal(override[name])
            elif todo is not None and name not in todo:
                if name not in base:
                    raise KeyError(f"forward_from needs the value of {name} in base")
                vals[name] = self.to_internal(base[name])
            elif cls == "InputLayer":
                if x is None:
                    raise ValueError("no input given")
                vals[name] = self.to_internal(x)
            else:
                mod = self.layer(name)
                args = [vals[i] for i in ins]
                if isinstance(mod, Dense):
                    z = mod.pre(*args)
                    pre[name] = z
                    vals[name] = apply_activation(mod.activation, z)
                else:
                    vals[name] = mod(*args)
                if self.guided and _ends_in_relu(cls, mod):
                    vals[name] = _GuidedGate.apply(vals[name])
            for i in ins:                                        # free what nothing reads any more
                if last_use.get(i) == pos and i not in keep and i in vals:
                    del vals[i]
        for c in capture:
            if c in self.folded:
                raise ValueError(f"{c} was folded into {self.folded[c]} (fold_bn=True)")
        outs = {c: (vals[c] if internal else self.to_nhwc(vals[c])) for c in capture}
        return Output(vals[self.output_name], pre[self.output_name], outs)

    def _needed(self, capture, override, todo):
        need = set()
        stack = [self.output_name, *capture]
        while stack:
            n = stack.pop()
            if n in need:
                continue
            need.add(n)
            if n in override or (todo is not None and n not in todo):
                continue
            stack.extend(self.inputs_of[n])
        return need

    def forward(self, x, capture=()):
        return self.run(x, capture=capture)

    def forward_from(self, layer, value, base=None):
        """The network from `layer` onward, with `value` (NHWC) as that layer's output."""
        return self.run(None, override={layer: value}, base=base)

    def input_gradient(self, x, class_index):
        """d logit[class_index] / d x (NHWC, batch 1) by autograd through the whole network: with
        guided=True, guided backpropagation. Returns (gradient, probs, logits)."""
        x = torch.as_tensor(x).to(self.dtype).detach().requires_grad_(True)
        out = self.run(x)
        (G,) = torch.autograd.grad(out.logits[0, class_index], x)
        return G.detach(), out.probs.detach(), out.logits.detach()

    def layer_gradient(self, x, layer, class_index):
        """A = output of `layer` (NHWC), G = d logit[class_index] / d A (NHWC), computed like gaze: a no-grad
        forward pass, then a recorded pass from the layer onward. Returns (A, G, probs, logits), batch 1."""
        with torch.no_grad():
            front = self.frontier([layer])
            out = self.run(x, capture=[layer, *front])
        A = out.outputs[layer].detach().clone().requires_grad_(True)
        base = {k: v for k, v in out.outputs.items() if k != layer}
        o2 = self.forward_from(layer, A, base)
        (G,) = torch.autograd.grad(o2.logits[0, class_index], A)
        return A.detach(), G.detach(), o2.probs.detach(), o2.logits.detach()
