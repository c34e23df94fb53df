// gaze cam: where the network looks, for any class, at any layer, as a picture.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "cam/explain.h"
#include "cam/methods.h"
#include "cam/model_input.h"
#include "cam/panel.h"
#include "cam/render.h"
#include "tensor/npy.h"
#include "tools/batch.h"
#include "tools/cli.h"
#include "tools/commands.h"
#include "tools/model_path.h"
#include "tools/run_common.h"
#include "weights/model_io.h"

namespace gaze {

namespace {

MapNorm parse_norm(const std::string& s) {
  if (s == "minmax") return MapNorm::kMinMax;
  if (s == "max") return MapNorm::kMax;
  throw Error("--norm: unknown '" + s + "' (minmax or max)");
}

nlohmann::json map_json(const Tensor& map) {
  nlohmann::json rows = nlohmann::json::array();
  for (int64_t i = 0; i < map.dim(0); ++i) {
    nlohmann::json row = nlohmann::json::array();
    for (int64_t j = 0; j < map.dim(1); ++j) row.push_back(map.at(i, j));
    rows.push_back(row);
  }
  return rows;
}

struct CamSettings {
  CamOptions options;
  bool guided = false;       // guided-backprop or guided-gradcam
  bool guided_only = false;  // guided-backprop: no class map
  bool signed_map = false;
  PanelStyle style;
  std::vector<std::string> layers;
  std::vector<std::string> class_specs;
  int top = 0;
  std::string method_name;
};

// The panel of an input: --out, else <stem>_<method>.png in --out-dir under the input's relative
// folder (a/x.jpg and b/x.jpg of one folder never share a panel).
std::string output_path(const cli::Parser& p, const InputEntry& input, const std::string& method) {
  if (p.has("out")) return p.get("out");
  namespace fs = std::filesystem;
  const fs::path relative(input.relative);
  std::string stem = relative.stem().string();
  std::replace(stem.begin(), stem.end(), '+', 'p');
  std::string m = method;
  std::replace(m.begin(), m.end(), '+', 'p');
  return (fs::path(p.get("out-dir", ".")) / relative.parent_path() / (stem + "_" + m + ".png"))
      .lexically_normal()
      .string();
}

// Before any work: --out and --raw name one file, so they take one input.
void check_single_outputs(const cli::Parser& p, const BatchPlan& plan) {
  if (p.has("out") && plan.entries.size() > 1)
    throw Error("--out names one file; with several inputs use --out-dir");
  if (p.has("raw") && plan.entries.size() > 1)
    throw Error("--raw names one file; with several inputs the maps are in --json or --jsonl");
}

// Which input each panel belongs to: the first in order of the inputs that would write it, so
// that an input never overwrites another's (x.jpg and x.png of one folder): a later one fails
// instead, and the batch goes on. Made once before the run: an allocation that lives on between
// inputs, made while they run, would pin the heap below it and make each input's buffers come
// from fresh memory (measured: +1 MiB of RSS per input).
class PanelOwners {
 public:
  PanelOwners(const cli::Parser& p, const BatchPlan& plan, const std::string& method) {
    for (const InputEntry& e : plan.entries) {
      if (e.error.empty()) owner_.emplace(output_path(p, e, method), e.path);
    }
  }
  void check(const std::string& panel, const std::string& input) const {
    const auto it = owner_.find(panel);
    if (it != owner_.end() && it->second != input) {
      throw Error(input + ": its panel " + panel + " is " + it->second +
                  "'s (rename one of the two, or run them apart)");
    }
  }

 private:
  std::map<std::string, std::string> owner_;
};

// --method's help: the CAM methods from their table, then the two guided ones.
std::string method_help() {
  std::vector<std::string> names = cam_method_names();
  names.front() += " (default)";
  names.insert(names.end(), {"guided-backprop", "guided-gradcam"});
  return cli::join_wrapped(names);
}

// The folder a panel goes in, created when missing.
void create_parent(const std::string& path) {
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (parent.empty()) return;
  std::error_code error;
  std::filesystem::create_directories(parent, error);
  if (error) throw Error(parent.string() + ": cannot create the folder (" + error.message() + ")");
}

std::string raw_path(const std::string& raw, const std::string& label, const std::string& layer,
                     bool several) {
  if (!several) return raw;
  const std::filesystem::path base(raw);
  return (base.parent_path() / (base.stem().string() + "_" + label + "_" + layer + ".npy"))
      .string();
}

// What class k's tile is made of, from the network: the maps at every --layer (also saved by
// --raw and collected for --json), and for the guided methods the guided gradient. Rendering
// them is left to the panel (cam/panel.h), off the network's thread.
ClassTile class_tile(const cli::Parser& p, const CamSettings& s, CamSession& session, int k,
                     const std::string& label, bool several_maps, nlohmann::json& maps,
                     std::vector<std::string>& raw_files) {
  const float prob = session.probabilities().data()[k];
  ClassTile tile;
  const std::string method = s.method_name + (s.options.eigen_smooth ? " eigen-smooth" : "") +
                             (s.options.aug_smooth ? " aug-smooth" : "");
  tile.caption = tile_caption(label, prob, method, s.options.counterfactual,
                              s.guided_only ? std::vector<std::string>{} : s.layers);
  if (!s.guided_only) {
    for (const std::string& layer : s.layers) {
      Tensor map = session.map(layer, k, s.options);
      if (!s.signed_map) map = relu_map(map);
      if (p.has("raw")) {
        raw_files.push_back(raw_path(p.get("raw"), label, layer, several_maps));
        write_npy(raw_files.back(), map);
      }
      if (p.has("json")) {
        maps.push_back({{"method", s.method_name},
                        {"layer", layer},
                        {"class", label},
                        {"index", k},
                        {"prob", prob},
                        {"map", map_json(map)}});
      }
      tile.maps.push_back(map);
    }
  }
  if (s.guided) tile.guided = session.guided_gradients(k, s.options.score);
  return tile;
}

// An input after the network: its panel's parts, and what it prints and appends to --jsonl.
struct CamResult {
  Image original;
  std::string name;
  std::vector<ClassTile> tiles;
  std::string footer;
  std::string panel;  // where the panel goes
  BatchOutput output;
};

}  // namespace

int cmd_cam(const Args& args) {
  cli::Parser p(
      "cam", "[--model M [--config FILE]] [--method NAME] [--class C]... [--layer L]... INPUT...",
      "Draws where the network looks when it scores a class: a class activation map at a\n"
      "layer, upsampled to the photo and blended over it. Writes one PNG panel per input:\n"
      "the original, then one overlay per class, captioned with class, probability and\n"
      "method, and prints its path with the predictions.");
  p.option("model", "M", kModelOptionHelp)
      .option("config", "FILE", kConfigOptionHelp)
      .option("labels", "FILE",
              "class names, one per line in output order, as many as the model has\n"
              "outputs, for --class, --rating and the output; overrides the model's own\n"
              "names (default: those, else models/imagenet_classes.txt for a 1000-output\n"
              "model, when that file exists)")
      .option("method", "NAME", method_help())
      .repeated("class", "C", "class name or index to explain (default: the top class)")
      .option("top", "K", "explain the K most probable classes (instead of --class)")
      .repeated("layer", "L",
                "Keras layer name (default: the last layer with a spatial output, e.g. mixed10;\n"
                "'gaze layers' lists them); several: their normalized maps are\n"
                "averaged into one overlay per class (each still saved by --raw)")
      .option("score", "KIND", "logit (default: the pre-softmax score) or prob (the probability)")
      .flag("counterfactual", "negate the gradients: show what speaks against the class")
      .flag("signed", "keep negative evidence (no ReLU on the map)")
      .flag("eigen-smooth",
            "pytorch-grad-cam's eigen_smooth: the map is the first principal projection of\n"
            "its terms (w_k A_k, or G*A for hirescam) instead of their channel sum, signed to\n"
            "agree with that sum (docs/smoothing.md); not for eigencam or guided-backprop")
      .flag("aug-smooth",
            "pytorch-grad-cam's aug_smooth: the mean of the maps of 6 variants of the input,\n"
            "left-right flipped or not x INTENSITY factors 0.9, 1, 1.1 on the preprocessed\n"
            "tensor (as ttach's Multiply; not rescaled), each after its ReLU and min-max\n"
            "scaled, flipped back; 6 passes; not with --signed or guided-backprop")
      .option("norm", "RULE",
              "minmax (default): (m - min)/(max - min); max: max(m,0)/max, as keras.io")
      .option("colormap", "NAME", "jet (default), turbo, viridis, inferno")
      .option("alpha", "A", "opacity of the heatmap over the photo, 0..1 (default 0.5)")
      .option("out", "FILE", "the panel (.png or .jpg; default <input>_<method>.png in --out-dir)")
      .option("out-dir", "DIR",
              "folder for the panels (default: the current folder); an input keeps its path\n"
              "below its INPUT folder (photos/a/x.jpg of INPUT photos -> DIR/a/x_gradcam.png)")
      .option("raw", "FILE",
              "also save the map at layer resolution as float32 .npy (after the ReLU unless\n"
              "--signed; before normalization); with several maps the name gets\n"
              "_<class>_<layer> appended")
      .option(
          "rating", "SPEC",
          "the article's 0-10 rating, e.g. 'Sexy=10,Porn=10,Neutral=5,Drawing=2,Hentai=2': the\n"
          "expected weight under the class probabilities, printed and on the panel")
      .option(
          "score-cam-channels", "N",
          "Score-CAM: use the N channels with the largest mean activation (default 256; 0 = all)")
      .option("preprocessing", "NAME",
              "override the model's preprocessing (see 'gaze classify --help')")
      .option("top-predictions", "K", "predictions printed per input (default 5; 0 = all)")
      .flag("json",
            "one JSON object per input and line: predictions as 'gaze classify --json', then\n"
            "maps [{method, layer, class, index, prob, map (layer "
            "resolution)}], outputs")
      .epilog(
          batch_help() +
          "Colours: RGB as decoded; the map is bilinearly upsampled to the ORIGINAL image size.\n"
          "examples:\n  gaze cam photo.jpg\n  gaze cam --class Porn --class Sexy --method "
          "gradcam++ photo.jpg\n"
          "  gaze cam --layer mixed7 --layer mixed10 --raw map.npy --json photo.jpg");
  add_batch_options(p, BatchStages::kLanesOrOverlapped);
  if (!p.parse(args)) return 0;
  if (p.positional().empty()) throw Error("cam: no INPUT given (see 'gaze cam --help')");
  const StopSignal stop;  // before any thread starts, so that every thread blocks the signals

  CamSettings s;
  s.method_name = p.get("method", "gradcam");
  s.guided = s.method_name == "guided-backprop" || s.method_name == "guided-gradcam";
  s.guided_only = s.method_name == "guided-backprop";
  s.options.method = s.guided ? CamMethod::kGradCam : parse_cam_method(s.method_name);
  const std::string score = p.get("score", "logit");
  if (score != "logit" && score != "prob")
    throw Error("--score: 'logit' or 'prob', got '" + score + "'");
  s.options.score = score == "prob" ? ScoreKind::kProbability : ScoreKind::kLogit;
  s.options.counterfactual = p.has("counterfactual");
  s.options.score_cam_channels = static_cast<int>(p.get_int("score-cam-channels", 256));
  if (s.options.score_cam_channels < 0) throw Error("--score-cam-channels must be 0 or more");
  s.signed_map = p.has("signed");
  s.options.eigen_smooth = p.has("eigen-smooth");
  s.options.aug_smooth = p.has("aug-smooth");
  if (s.guided_only && (s.options.eigen_smooth || s.options.aug_smooth)) {
    throw Error(std::string(s.options.eigen_smooth ? "--eigen-smooth" : "--aug-smooth") +
                " smooths a class map; guided-backprop has none (use guided-gradcam)");
  }
  if (s.signed_map && s.options.aug_smooth)
    throw Error("--aug-smooth averages maps after their ReLU; it does not combine with --signed");
  check_smoothing(s.options.method, s.options);
  s.style.norm = parse_norm(p.get("norm", "minmax"));
  s.style.colormap = parse_colormap(p.get("colormap", "jet"));
  s.style.alpha = static_cast<float>(p.get_double("alpha", 0.5));
  if (!(s.style.alpha >= 0.0f && s.style.alpha <= 1.0f))
    throw Error("--alpha must be between 0 and 1");
  s.class_specs = p.all("class");
  s.top = static_cast<int>(p.get_int("top", 0));
  if (s.top < 0) throw Error("--top must be positive");
  if (s.top > 0 && !s.class_specs.empty()) throw Error("give --class or --top, not both");
  const int top_predictions = static_cast<int>(p.get_int("top-predictions", 5));
  if (top_predictions < 0) throw Error("--top-predictions must be 0 or more");

  const BatchPlan plan = plan_batch(p);
  check_single_outputs(p, plan);
  const LoadedModel loaded = load_model(p.get("model", default_model_path()), p.get("config"));
  const Model& model = loaded.model;
  const Preprocessing preprocessing = model_preprocessing(p, loaded);
  const std::vector<std::string> class_names = class_names_for(p, loaded);
  s.layers = p.all("layer");
  if (s.layers.empty()) s.layers = {model.layer(default_cam_layer(model)).name()};
  // Checked once here, not once per input: a bad --layer or --class is one error.
  for (const std::string& layer : s.layers) {
    const Shape& shape = model.output_shape(model.index_of(layer));
    if (shape.size() != 4) {
      throw Error("layer '" + layer + "' has output " + to_string(shape) +
                  ", not a spatial map [h, w, channels] (see 'gaze layers')");
    }
  }
  for (const std::string& c : s.class_specs)
    class_index(c, class_names, model.output_shape(model.output_index()).back());
  const std::vector<double> rating =
      p.has("rating") ? parse_rating(p.get("rating"), class_names) : std::vector<double>{};
  if (p.has("out-dir")) create_parent(p.get("out-dir") + "/");

  const PanelOwners panels(p, plan, s.method_name);
  const auto load = [&](const InputEntry& entry) {
    return load_model_input(entry.path, model, preprocessing);
  };
  const auto run = [&](const InputEntry& entry, ModelInput&& in) {
    const std::string& input = entry.path;
    const bool gradients = method_needs_gradients(s.options.method) && !s.guided_only;
    CamSession session(model, in.tensor, s.layers, gradients);
    const Tensor& probs = session.probabilities();
    const std::vector<int> classes = chosen_classes(s.class_specs, s.top, probs, class_names);
    CamResult r;
    r.name = std::filesystem::path(input).filename().string();
    nlohmann::json maps = nlohmann::json::array();
    std::vector<std::string> raw_files;
    const bool several_maps = classes.size() * s.layers.size() > 1;
    for (int k : classes) {
      r.tiles.push_back(
          class_tile(p, s, session, k, label_of(k, class_names), several_maps, maps, raw_files));
    }
    const double rated = rating.empty() ? 0.0 : rating_of(rating, probs);
    if (!rating.empty()) r.footer = rating_footer(rated);
    r.panel = output_path(p, entry, s.method_name);

    const auto predictions = rank_predictions(probs, class_names, top_predictions);
    nlohmann::json outputs = {{"panel", r.panel}};
    if (!raw_files.empty()) outputs["raw"] = raw_files;
    std::string object = "{\"input\": " + json_string(input) +
                         ", \"model\": " + json_string(loaded.path) +
                         ", \"predictions\": " + predictions_json(predictions);
    if (!rating.empty()) object += ", \"rating\": " + nlohmann::json(rated).dump();
    object += ", \"maps\": " + maps.dump() + ", \"outputs\": " +
              outputs.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "}";
    if (p.has("json")) {
      r.output.text = object + "\n";
    } else {
      r.output.text = input + " -> " + r.panel + "\n" + predictions_text(predictions);
      if (!rating.empty()) r.output.text += "  rating " + format_number("%.2f", rated) + "/10\n";
    }
    r.output.object = std::move(object);
    r.original = std::move(in.original);
    return r;
  };
  // Beside the next input's network: only images and files, nothing of the model's.
  const auto finish = [&](const InputEntry& entry, CamResult&& r) {
    panels.check(r.panel, entry.path);
    if (!p.has("out")) create_parent(r.panel);  // --out's folder must exist; --out-dir's are made
    save_image(r.panel, render_panel(r.original, r.name, r.tiles, s.style, r.footer));
    return std::move(r.output);
  };
  return run_batch(p, stop, plan, pipeline_options(p, BatchStages::kLanesOrOverlapped, plan), load,
                   run, finish);
}

}  // namespace gaze
