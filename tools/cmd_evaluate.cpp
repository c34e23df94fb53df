// gaze evaluate: how faithful each method's map is to the model, by deletion, insertion and the
// confidence change (cam/evaluate.h), with the random and center baselines, per input and as a
// table.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <numeric>

#include "cam/evaluate.h"
#include "cam/explain.h"
#include "cam/methods.h"
#include "cam/model_input.h"
#include "collection/shard.h"
#include "tools/batch.h"
#include "tools/cli.h"
#include "tools/commands.h"
#include "tools/model_path.h"
#include "tools/run_common.h"
#include "tools/text_table.h"
#include "weights/model_io.h"

namespace gaze {

namespace {

// A method of the run: a CAM method with its smoothings, or one of the two baselines.
struct Method {
  std::string name;
  bool baseline = false;  // random or center
  MethodSpec cam;
};

// --method and --layer take comma-separated lists, and may be repeated.
std::vector<std::string> split_list(const std::vector<std::string>& values) {
  std::vector<std::string> out;
  for (const std::string& v : values) {
    size_t start = 0;
    while (start <= v.size()) {
      const size_t comma = std::min(v.find(',', start), v.size());
      if (comma > start) out.push_back(v.substr(start, comma - start));
      start = comma + 1;
    }
  }
  return out;
}

// The lines of the smoothing suffixes, from their table.
std::string smoothing_suffix_help() {
  std::string text;
  for (const SmoothingSuffix& s : kSmoothingSuffixes)
    text += "\n  :" + (s.suffix + std::string(7, ' ')).substr(0, 7) + s.help;
  return text;
}

std::vector<Method> parse_methods(const std::vector<std::string>& names) {
  std::vector<Method> methods;
  for (const std::string& n : names) {
    if (n.rfind("random:", 0) == 0 || n.rfind("center:", 0) == 0) {
      throw Error("--method: " + n + ": the baselines take no smoothing");
    } else if (n == "random" || n == "center") {
      methods.push_back({n, true, {}});
    } else if (n == "guided-backprop" || n == "guided-gradcam") {
      throw Error("--method: " + n +
                  " is a gradient at the input, not a class map at a layer; evaluate takes the "
                  "class-map methods, random and center");
    } else {
      const MethodSpec spec = parse_method_spec(n);
      methods.push_back({spec.name, false, spec});
    }
  }
  return methods;
}

// The map a method gives, after its ReLU (what `gaze cam` draws); the baselines at the layer's
// grid (random, seeded by the input's relative path, layer and class) or at the input's size.
Tensor method_map(const Method& m, CamSession& session, const std::string& layer, int k,
                  const CamOptions& base, const InputEntry& entry, const Shape& input_shape) {
  if (m.name == "random") {
    const Tensor& a = session.activations(layer);
    return random_map(a.dim(1), a.dim(2),
                      stable_hash(entry.relative + "\n" + layer + "\n" + std::to_string(k)));
  }
  if (m.name == "center") return center_map(input_shape[1], input_shape[2]);
  CamOptions options = base;
  options.method = m.cam.method;
  options.eigen_smooth = m.cam.eigen_smooth;
  options.aug_smooth = m.cam.aug_smooth;
  return relu_map(session.map(layer, k, options));
}

// One row of results, kept for the table.
struct Result {
  std::string method, layer;
  double deletion = 0.0, insertion = 0.0, drop = 0.0;
  bool increase = false;
};

nlohmann::json curve_json(const Curve& c) {
  return {{"auc", c.auc}, {"fraction", c.fraction}, {"score", c.score}};
}

struct Stats {
  double mean = 0.0, spread = 0.0;  // the sample standard deviation (0 for one value)
};
Stats stats(const std::vector<double>& v) {
  Stats s;
  if (v.empty()) return s;
  s.mean = std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
  if (v.size() < 2) return s;
  double sq = 0.0;
  for (double x : v) sq += (x - s.mean) * (x - s.mean);
  s.spread = std::sqrt(sq / static_cast<double>(v.size() - 1));
  return s;
}

struct Group {
  std::vector<double> deletion, insertion, drop, increase;
};

std::string pm(const Stats& s, const char* format) {
  return format_number(format, s.mean) + " ± " + format_number(format, s.spread);
}

// method x layer: n, mean ± spread of each metric, and the margin over `random` at that layer
// (positive: better than random, i.e. random's deletion minus the method's, the method's
// insertion minus random's).
std::string summary_table(const std::vector<Result>& results, const std::vector<Method>& methods,
                          const std::vector<std::string>& layers) {
  std::map<std::pair<std::string, std::string>, Group> groups;
  for (const Result& r : results) {
    Group& g = groups[{r.method, r.layer}];
    g.deletion.push_back(r.deletion);
    g.insertion.push_back(r.insertion);
    g.drop.push_back(r.drop);
    g.increase.push_back(r.increase ? 100.0 : 0.0);
  }
  TextTable table;
  table.header = {"method",     "layer",     "n",          "deletion(lower)", "insertion(higher)",
                  "avg drop %", "increase%", "del>random", "ins>random"};
  table.right_aligned = {false, false, true};
  for (const std::string& layer : layers) {
    const auto random = groups.find({"random", layer});
    for (const Method& m : methods) {
      const auto it = groups.find({m.name, layer});
      if (it == groups.end()) continue;
      const Group& g = it->second;
      const Stats del = stats(g.deletion), ins = stats(g.insertion);
      std::string del_margin = "-", ins_margin = "-";
      if (random != groups.end() && m.name != "random") {
        del_margin = format_number("%+.4f", stats(random->second.deletion).mean - del.mean);
        ins_margin = format_number("%+.4f", ins.mean - stats(random->second.insertion).mean);
      }
      table.rows.push_back({m.name, layer, std::to_string(g.deletion.size()), pm(del, "%.4f"),
                            pm(ins, "%.4f"), pm(stats(g.drop), "%.1f"),
                            format_number("%.1f", stats(g.increase).mean), del_margin, ins_margin});
    }
  }
  return table.str();
}

}  // namespace

int cmd_evaluate(const Args& args) {
  cli::Parser p("evaluate",
                "[--model M [--config FILE]] [--method M,...] [--layer L,...] [--class C | --top "
                "K] [--steps N] [--json] INPUT...",
                "Measures how faithful each method's map is to the model, for each input, layer\n"
                "and class, and prints a table of method x layer over the inputs:\n"
                "  deletion AUC: the most salient pixels are replaced first, in --steps steps,\n"
                "    by 0 of the preprocessed input (RISE's baseline: black for nsfwjs, grey for\n"
                "    keras-inception, the ImageNet mean for torch and caffe); the class\n"
                "    probability is integrated over the fraction replaced. Lower is better.\n"
                "  insertion AUC: from a blurred copy (11x11 Gaussian, sigma 5, as RISE), the\n"
                "    most salient pixels are put back first. Higher is better.\n"
                "  avg drop %: 100 * max(0, Y - O) / Y, Y the probability on the input, O on the\n"
                "    input times the min-max normalized map (Chattopadhay et al. 2018). Lower\n"
                "    is better. increase %: the share of inputs with O > Y. Higher is better.\n"
                "Pixels are ranked on the map (after its ReLU) upsampled bilinearly to the\n"
                "network's input size, highest first, ties by increasing row-major pixel index;\n"
                "step i changes floor(i*H*W/N) pixels, and the AUC is the trapezoid rule over\n"
                "the fraction changed, 0 to 1. The margins are over the random baseline at the\n"
                "same layer, positive when the method is better.");
  p.option("model", "M", kModelOptionHelp)
      .option("config", "FILE", kConfigOptionHelp)
      .option("labels", "FILE", "class names, as for 'gaze cam'")
      .repeated("method", "M,...",
                "methods to evaluate, comma-separated or repeated (default gradcam,random,\n"
                "center): gradcam, gradcam++, cam, hirescam, xgradcam, layercam, scorecam,\n"
                "eigencam; random (a uniform random map on the layer's grid, seeded by the\n"
                "input's relative path, the layer and the class); center (a centred Gaussian,\n"
                "sigma = a quarter of the shorter side). A class-map method takes smoothings\n"
                "as suffixes, NAME[:eigen][:aug] (e.g. gradcam:eigen, layercam:eigen:aug),\n"
                "each its own row:" +
                    smoothing_suffix_help())
      .repeated("layer", "L,...",
                "layers, comma-separated or repeated (default: the last spatial layer)")
      .repeated("class", "C", "class name or index to explain (default: the top class)")
      .option("top", "K", "explain the K most probable classes (instead of --class)")
      .option("steps", "N", "deletion and insertion steps (default 50)")
      .option("batch", "B", "perturbed inputs per forward pass (default 8)")
      .option("score-cam-channels", "N", "as for 'gaze cam' (default 256; 0 = all)")
      .option("preprocessing", "NAME", "override the model's preprocessing")
      .flag("json",
            "one JSON object per input and line instead of the text and the table:\n"
            "{input, model, predictions, evaluations: [{method, layer, class, index, prob,\n"
            "deletion: {auc, fraction, score}, insertion: {...}, average_drop, masked_prob,\n"
            "increase}]}")
      .epilog(batch_help() +
              "The table (not with --json) covers the inputs of this run.\n"
              "examples:\n  gaze evaluate photo.jpg\n"
              "  gaze evaluate --method gradcam,gradcam++,scorecam,random,center --layer "
              "mixed7,mixed10 photos/");
  add_batch_options(p);
  if (!p.parse(args)) return 0;
  if (p.positional().empty()) throw Error("evaluate: no INPUT given (see 'gaze evaluate --help')");
  const StopSignal stop;  // before any thread starts, so that every thread blocks the signals

  std::vector<std::string> method_names = split_list(p.all("method"));
  if (method_names.empty()) method_names = {"gradcam", "random", "center"};
  const std::vector<Method> methods = parse_methods(method_names);
  PerturbationOptions perturbation;
  perturbation.steps = static_cast<int>(p.get_int("steps", 50));
  if (perturbation.steps < 1) throw Error("--steps must be at least 1");
  perturbation.batch = static_cast<int>(p.get_int("batch", 8));
  if (perturbation.batch < 1) throw Error("--batch must be at least 1");
  CamOptions cam_options;
  cam_options.score_cam_channels = static_cast<int>(p.get_int("score-cam-channels", 256));
  if (cam_options.score_cam_channels < 0) throw Error("--score-cam-channels must be 0 or more");
  const std::vector<std::string> class_specs = p.all("class");
  const int top = static_cast<int>(p.get_int("top", 0));
  if (top < 0) throw Error("--top must be positive");
  if (top > 0 && !class_specs.empty()) throw Error("give --class or --top, not both");

  const BatchPlan plan = plan_batch(p);
  const LoadedModel loaded = load_model(p.get("model", default_model_path()), p.get("config"));
  const Model& model = loaded.model;
  const Preprocessing preprocessing = model_preprocessing(p, loaded);
  const std::vector<std::string> class_names = class_names_for(p, loaded);
  std::vector<std::string> layers = split_list(p.all("layer"));
  if (layers.empty()) layers = {model.layer(default_cam_layer(model)).name()};
  for (const std::string& layer : layers) {
    if (!is_spatial_layer(model, model.index_of(layer))) {
      throw Error("layer '" + layer + "' has output " +
                  to_string(model.output_shape(model.index_of(layer))) +
                  ", not a spatial map [h, w, channels] (see 'gaze layers')");
    }
  }
  for (const std::string& c : class_specs)
    class_index(c, class_names, model.output_shape(model.output_index()).back());
  bool gradients = false;
  for (const Method& m : methods) gradients |= !m.baseline && method_needs_gradients(m.cam.method);
  const BatchScorer scorer = model_scorer(model);

  std::vector<Result> results;
  const int status = run_batch(p, stop, plan, [&](const InputEntry& entry) {
    const ModelInput in = load_model_input(entry.path, model, preprocessing);
    CamSession session(model, in.tensor, layers, gradients);
    const Tensor& probs = session.probabilities();
    std::vector<int> classes;
    for (const std::string& c : class_specs)
      classes.push_back(class_index(c, class_names, probs.size()));
    if (classes.empty()) {
      for (const Prediction& pr : rank_predictions(probs, class_names, std::max(top, 1)))
        classes.push_back(pr.index);
    }
    nlohmann::json evaluations = nlohmann::json::array();
    std::vector<Result> mine;
    std::string text = entry.path + "\n";
    for (int k : classes) {
      for (const std::string& layer : layers) {
        for (const Method& m : methods) {
          const Tensor map =
              method_map(m, session, layer, k, cam_options, entry, in.tensor.shape());
          const MapEvaluation e = evaluate_map(scorer, in.tensor, map, k, perturbation);
          mine.push_back({m.name, layer, e.deletion.auc, e.insertion.auc, e.confidence.drop,
                          e.confidence.increase});
          evaluations.push_back({{"method", m.name},
                                 {"layer", layer},
                                 {"class", label_of(k, class_names)},
                                 {"index", k},
                                 {"prob", e.confidence.original},
                                 {"deletion", curve_json(e.deletion)},
                                 {"insertion", curve_json(e.insertion)},
                                 {"average_drop", e.confidence.drop},
                                 {"masked_prob", e.confidence.masked},
                                 {"increase", e.confidence.increase}});
          char line[256];
          std::snprintf(line, sizeof line,
                        "  %-10s %-16s %-10s deletion %.4f  insertion %.4f  drop %.1f%%%s\n",
                        m.name.c_str(), layer.c_str(), label_of(k, class_names).c_str(),
                        e.deletion.auc, e.insertion.auc, e.confidence.drop,
                        e.confidence.increase ? "  increase" : "");
          text += line;
        }
      }
    }
    const std::string object =
        "{\"input\": " + json_string(entry.path) + ", \"model\": " + json_string(loaded.path) +
        ", \"predictions\": " + predictions_json(rank_predictions(probs, class_names, 0)) +
        ", \"evaluations\": " +
        evaluations.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "}";
    print_stdout(p.has("json") ? object + "\n" : text);
    results.insert(results.end(), mine.begin(), mine.end());  // only once the input succeeded
    return object;
  });
  if (!p.has("json") && !results.empty())
    print_stdout("\n" + summary_table(results, methods, layers));
  return status;
}

}  // namespace gaze
