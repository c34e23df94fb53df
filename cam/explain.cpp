#include "cam/explain.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "cam/methods.h"
#include "cam/render.h"
#include "layers/keras_layers.h"

namespace gaze {
namespace {

struct MethodName {
  CamMethod method;
  const char* name;
};
constexpr MethodName kMethodNames[] = {
    {CamMethod::kGradCam, "gradcam"},   {CamMethod::kGradCamPlusPlus, "gradcam++"},
    {CamMethod::kCam, "cam"},           {CamMethod::kHiResCam, "hirescam"},
    {CamMethod::kXGradCam, "xgradcam"}, {CamMethod::kLayerCam, "layercam"},
    {CamMethod::kScoreCam, "scorecam"}, {CamMethod::kEigenCam, "eigencam"},
};

}  // namespace

bool method_needs_gradients(CamMethod m) {
  return m != CamMethod::kCam && m != CamMethod::kScoreCam && m != CamMethod::kEigenCam;
}

CamMethod parse_cam_method(const std::string& name) {
  for (const MethodName& m : kMethodNames) {
    if (name == m.name) return m.method;
  }
  std::string list;
  for (const std::string& n : cam_method_names()) list += (list.empty() ? "" : ", ") + n;
  throw Error("unknown method '" + name + "' (known: " + list + ")");
}

const char* cam_method_name(CamMethod method) {
  for (const MethodName& m : kMethodNames) {
    if (method == m.method) return m.name;
  }
  return "?";
}

std::vector<std::string> cam_method_names() {
  std::vector<std::string> names;
  for (const MethodName& m : kMethodNames) names.emplace_back(m.name);
  return names;
}

void check_smoothing(CamMethod method, const CamOptions& options) {
  if (options.eigen_smooth && method == CamMethod::kEigenCam) {
    throw Error(
        "eigen-smooth does not apply to eigencam: its map is already the first principal "
        "projection of the activations");
  }
}

Tensor flip_left_right(const Tensor& t) {
  if (t.rank() != 2 && !(t.rank() == 4 && t.dim(0) == 1))
    throw Error("flip: expected a map [h, w] or an input [1, h, w, c], got " +
                to_string(t.shape()));
  const int64_t h = t.dim(t.rank() == 2 ? 0 : 1), w = t.dim(t.rank() == 2 ? 1 : 2);
  const int64_t c = t.rank() == 2 ? 1 : t.dim(3);
  Tensor out(t.shape());
  for (int64_t y = 0; y < h; ++y)
    for (int64_t x = 0; x < w; ++x)
      std::copy_n(t.data() + (y * w + x) * c, c, out.data() + (y * w + (w - 1 - x)) * c);
  return out;
}

Tensor guided_saliency(const Tensor& g) {
  if (g.rank() != 4 || g.dim(0) != 1)
    throw Error("guided_saliency: expected a gradient [1, h, w, c], got " + to_string(g.shape()));
  Tensor map({g.dim(1), g.dim(2)});
  for (int64_t px = 0; px < map.size(); ++px) {
    double sum = 0.0;
    for (int64_t c = 0; c < g.dim(3); ++c) sum += std::abs(g.data()[px * g.dim(3) + c]);
    map.data()[px] = static_cast<float>(sum);
  }
  return map;
}

Tensor augment_input(const Tensor& input, const AugVariant& variant) {
  Tensor out = variant.flip ? flip_left_right(input) : input.clone();
  for (float& v : out.values()) v *= variant.factor;
  return out;
}

MethodSpec parse_method_spec(const std::string& spec) {
  MethodSpec m;
  const size_t colon = spec.find(':');
  m.method = parse_cam_method(spec.substr(0, colon));
  for (size_t start = colon; start != std::string::npos;) {
    const size_t next = spec.find(':', start + 1);
    const std::string suffix = spec.substr(start + 1, next - start - 1);
    const auto known = std::find_if(std::begin(kSmoothingSuffixes), std::end(kSmoothingSuffixes),
                                    [&](const SmoothingSuffix& s) { return suffix == s.suffix; });
    if (known == std::end(kSmoothingSuffixes) || m.*(known->flag)) {
      std::string names;
      for (const SmoothingSuffix& s : kSmoothingSuffixes) names += std::string(" :") + s.suffix;
      throw Error("method '" + spec + "': '" + suffix + "' is not a smoothing, or is repeated (" +
                  "known:" + names + ")");
    }
    m.*(known->flag) = true;
    start = next;
  }
  CamOptions options;
  options.eigen_smooth = m.eigen_smooth;
  try {
    check_smoothing(m.method, options);
  } catch (const Error& e) {
    throw Error("method '" + spec + "': " + e.what());
  }
  m.name = cam_method_name(m.method);
  for (const SmoothingSuffix& s : kSmoothingSuffixes)
    if (m.*(s.flag)) m.name += std::string(":") + s.suffix;
  return m;
}

CamSession::CamSession(const Model& model, const Tensor& input,
                       const std::vector<std::string>& layers, bool with_gradients)
    : model_(model), input_(input), layers_(layers), with_gradients_(with_gradients) {
  if (input.rank() != 4 || input.dim(0) != 1)
    throw Error("cam: one input at a time, got " + to_string(input.shape()));
  for (const std::string& l : layers) {
    const Shape& s = model.output_shape(model.index_of(l));
    if (s.size() != 4) {
      throw Error("layer '" + l + "' has output " + to_string(s) +
                  ", not a spatial map [h, w, channels] (see 'gaze layers')");
    }
  }
  Model::ForwardOptions options;
  options.keep = layers;
  if (with_gradients) options.grad_layers = layers;
  forward_ = model.forward(input, options);
  probabilities_ = forward_.output.value().reshape({-1});
}

const Tensor& CamSession::activations(const std::string& layer) const {
  auto it = forward_.kept.find(layer);
  if (it == forward_.kept.end())
    throw Error("cam: layer '" + layer + "' was not kept by the forward pass");
  return it->second.value();
}

Tensor CamSession::gradients(const std::string& layer, int class_index, ScoreKind score) {
  if (class_index < 0 || class_index >= probabilities_.size()) {
    throw Error("class index " + std::to_string(class_index) + " out of range (the model has " +
                std::to_string(probabilities_.size()) + " classes)");
  }
  if (grads_for_ != std::pair{class_index, score}) {
    const Var& root =
        score == ScoreKind::kLogit && forward_.logits.defined() ? forward_.logits : forward_.output;
    if (!root.requires_grad()) throw Error("cam: the forward pass recorded no gradients");
    Tensor seed = Tensor::zeros(root.shape());
    seed.data()[class_index] = 1.0f;
    backward(root, seed);
    grads_.clear();
    for (const auto& [name, var] : forward_.kept) {
      if (var.grad().defined()) grads_[name] = var.grad();
    }
    grads_for_ = {class_index, score};
  }
  auto it = grads_.find(layer);
  if (it == grads_.end()) throw Error("cam: no gradient reached layer '" + layer + "'");
  return it->second;
}

Tensor CamSession::guided_gradients(int class_index, ScoreKind score) const {
  Model::ForwardOptions options;
  options.grad_layers = {model_.layer(0).name()};  // the InputLayer: its output is the image
  const Model::ForwardResult r = model_.forward(input_, options);
  const Var& root = score == ScoreKind::kLogit && r.logits.defined() ? r.logits : r.output;
  if (class_index < 0 || class_index >= root.value().size())
    throw Error("class index out of range");
  Tensor seed = Tensor::zeros(root.shape());
  seed.data()[class_index] = 1.0f;
  backward(root, seed, {ReluRule::kGuided});
  return r.kept.at(model_.layer(0).name()).grad();
}

Tensor CamSession::map(const std::string& layer, int class_index, const CamOptions& options) {
  check_smoothing(options.method, options);
  return options.aug_smooth ? aug_smooth_map(layer, class_index, options)
                            : single_map(layer, class_index, options);
}

Tensor CamSession::aug_smooth_map(const std::string& layer, int class_index,
                                  const CamOptions& options) {
  CamOptions single = options;
  single.aug_smooth = false;
  if (variants_.empty()) {
    // Built whole before it is kept: a session that failed half-way is never half-filled.
    std::vector<std::unique_ptr<CamSession>> variants;
    for (const AugVariant& v : kAugVariants) {
      const bool identity = !v.flip && v.factor == 1.0f;
      variants.push_back(identity ? nullptr
                                  : std::make_unique<CamSession>(model_, augment_input(input_, v),
                                                                 layers_, with_gradients_));
    }
    variants_ = std::move(variants);
  }
  std::vector<Tensor> maps;
  for (size_t i = 0; i < variants_.size(); ++i) {
    CamSession& session = variants_[i] ? *variants_[i] : *this;
    Tensor m =
        normalize_map(relu_map(session.single_map(layer, class_index, single)), MapNorm::kMinMax);
    maps.push_back(kAugVariants[i].flip ? flip_left_right(m) : m);
  }
  return mean_map(maps);
}

Tensor CamSession::single_map(const std::string& layer, int class_index,
                              const CamOptions& options) {
  const Tensor& a = activations(layer);
  if (!method_needs_gradients(options.method)) {
    if (options.method == CamMethod::kEigenCam) return eigen_cam(a);
    if (options.method == CamMethod::kCam) {
      const Tensor kernel = dense_kernel_for_cam(layer);
      if (!options.eigen_smooth) return class_activation_map(a, kernel, class_index);
      std::vector<double> w(static_cast<size_t>(a.dim(3)));
      for (int64_t k = 0; k < a.dim(3); ++k) w[static_cast<size_t>(k)] = kernel.at(k, class_index);
      return principal_projection(weighted_activations(a, w));
    }
    return score_cam(layer, class_index, options);
  }
  Tensor g = gradients(layer, class_index, options.score);
  if (options.counterfactual) {
    g = g.clone();
    for (float& v : g.values()) v = -v;
  }
  if (options.eigen_smooth) {
    switch (options.method) {
      case CamMethod::kGradCam:
        return principal_projection(weighted_activations(a, grad_cam_weights(a, g)));
      case CamMethod::kGradCamPlusPlus:
        return principal_projection(weighted_activations(a, grad_cam_plus_plus_weights(a, g)));
      case CamMethod::kXGradCam:
        return principal_projection(weighted_activations(a, xgrad_cam_weights(a, g)));
      case CamMethod::kHiResCam:
        return principal_projection(hires_cam_terms(a, g));
      case CamMethod::kLayerCam:
        return principal_projection(layer_cam_terms(a, g));
      default:
        break;
    }
    throw Error("cam: unhandled method");
  }
  switch (options.method) {
    case CamMethod::kGradCam:
      return grad_cam(a, g);
    case CamMethod::kGradCamPlusPlus:
      return grad_cam_plus_plus(a, g);
    case CamMethod::kHiResCam:
      return hires_cam(a, g);
    case CamMethod::kXGradCam:
      return xgrad_cam(a, g);
    case CamMethod::kLayerCam:
      return layer_cam(a, g);
    default:
      break;
  }
  throw Error("cam: unhandled method");
}

// The one layer reading layer i's output, or SIZE_MAX when there is none or several.
static size_t single_consumer(const Model& m, size_t i) {
  size_t found = SIZE_MAX;
  for (size_t j = i + 1; j < m.size(); ++j) {
    for (size_t in : m.inbound(j)) {
      if (in != i) continue;
      if (found != SIZE_MAX) return SIZE_MAX;
      found = j;
    }
  }
  return found;
}

// CAM is defined for `layer -> global average pooling -> Dense`, the Dense being the output or
// followed only by a softmax or sigmoid Activation (the heads fine-tuned models have), with
// layers that are the identity at inference (Dropout, ...) allowed after the pooling. An
// AveragePooling2D whose window covers the whole grid, followed by Flatten, is the same pooling.
Tensor CamSession::dense_kernel_for_cam(const std::string& layer) const {
  const Model& m = model_;
  std::vector<size_t> chain;  // the single-consumer path after `layer`, up to the output
  for (size_t at = m.index_of(layer); chain.size() < 16 && at != m.output_index();) {
    at = single_consumer(m, at);
    if (at == SIZE_MAX) break;
    chain.push_back(at);
  }
  size_t k = 0;
  auto is = [&](const char* cls) {
    return k < chain.size() && m.layer(chain[k]).class_name() == std::string(cls);
  };
  bool pooled = false;
  if (is("GlobalAveragePooling2D")) {
    pooled = true, ++k;
  } else if (is("AveragePooling2D") && m.output_shape(chain[k])[1] == 1 &&
             m.output_shape(chain[k])[2] == 1) {
    ++k;
    pooled = is("Flatten") && (++k, true);
  }
  while (pooled && k < chain.size() && m.layer(chain[k]).is_identity_at_inference()) ++k;
  const size_t dense_at = pooled && is("Dense") ? k++ : SIZE_MAX;
  if (dense_at != SIZE_MAX && k < chain.size()) {  // an Activation after the Dense
    const Activation* a = m.layer(chain[k]).elementwise_activation();
    const auto* act = dynamic_cast<const ActivationLayer*>(&m.layer(chain[k]));
    if ((a || act) && is_class_score_activation(act ? act->activation() : *a) &&
        is_linear(dynamic_cast<const Dense&>(m.layer(chain[dense_at])).config().activation))
      ++k;
  }
  if (dense_at == SIZE_MAX || k != chain.size() || chain.back() != m.output_index()) {
    std::string path = layer;
    for (size_t i : chain) path += std::string(" -> ") + m.layer(i).class_name();
    throw Error("method cam needs '" + layer +
                "' to be followed by global average pooling and one Dense layer, then at most a "
                "softmax or sigmoid Activation, the output (here: " +
                path + " ...); use gradcam, which works at any layer");
  }
  for (const Weight& w : m.layer(chain[dense_at]).weights()) {
    if (w.name == "kernel") return w.value;
  }
  throw Error("cam: the Dense layer has no kernel");
}

Tensor CamSession::score_cam(const std::string& layer, int class_index, const CamOptions& options) {
  const Tensor& a = activations(layer);
  const int64_t h = a.dim(1), w = a.dim(2), k = a.dim(3);
  const int64_t in_h = input_.dim(1), in_w = input_.dim(2), in_c = input_.dim(3);
  // The channels with the largest mean activation (all of them when the cap allows).
  std::vector<double> mean(static_cast<size_t>(k), 0.0);
  for (int64_t p = 0; p < h * w; ++p)
    for (int64_t c = 0; c < k; ++c) mean[static_cast<size_t>(c)] += a.data()[p * k + c];
  std::vector<int> channels(static_cast<size_t>(k));
  std::iota(channels.begin(), channels.end(), 0);
  std::stable_sort(channels.begin(), channels.end(), [&](int x, int y) {
    return mean[static_cast<size_t>(x)] > mean[static_cast<size_t>(y)];
  });
  if (options.score_cam_channels > 0 && static_cast<int64_t>(options.score_cam_channels) < k) {
    channels.resize(static_cast<size_t>(options.score_cam_channels));
  }
  std::vector<float> scores;
  const size_t batch = static_cast<size_t>(std::max(1, options.score_cam_batch));
  for (size_t start = 0; start < channels.size(); start += batch) {
    const size_t n = std::min(batch, channels.size() - start);
    Tensor masked({static_cast<int64_t>(n), in_h, in_w, in_c});
    for (size_t b = 0; b < n; ++b) {
      Tensor channel({h, w});
      for (int64_t p = 0; p < h * w; ++p) channel.data()[p] = a.data()[p * k + channels[start + b]];
      const Tensor mask = upsample_bilinear(normalize_map(channel, MapNorm::kMinMax), in_h, in_w);
      float* dst = masked.data() + static_cast<int64_t>(b) * in_h * in_w * in_c;
      for (int64_t p = 0; p < in_h * in_w; ++p)
        for (int64_t c = 0; c < in_c; ++c)
          dst[p * in_c + c] = input_.data()[p * in_c + c] * mask.data()[p];
    }
    const Tensor probs = model_.forward(masked).output.value();
    for (size_t b = 0; b < n; ++b)
      scores.push_back(probs.data()[static_cast<int64_t>(b) * probs.dim(1) + class_index]);
  }
  // Weights: softmax of the scores over the channels (as pytorch-grad-cam does).
  const float top = *std::max_element(scores.begin(), scores.end());
  double total = 0.0;
  for (float& s : scores) total += s = std::exp(s - top);
  for (float& s : scores) s = static_cast<float>(s / total);
  if (options.eigen_smooth) {
    std::vector<double> weights(static_cast<size_t>(k), 0.0);
    for (size_t i = 0; i < channels.size(); ++i)
      weights[static_cast<size_t>(channels[i])] = scores[i];
    return principal_projection(weighted_activations(a, weights));
  }
  return weighted_channel_sum(a, scores, channels);
}

bool is_spatial_layer(const Model& m, size_t i) {
  const Shape& s = m.output_shape(i);
  return s.size() == 4 && (s[1] > 1 || s[2] > 1) && i != 0;
}

size_t default_cam_layer(const Model& m) {
  size_t best = 0;
  for (size_t i = 0; i <= m.output_index(); ++i) {
    if (is_spatial_layer(m, i)) best = i;
  }
  return best;
}

}  // namespace gaze
