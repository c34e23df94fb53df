// gaze evaluate: how faithful each method's map is to the model, by deletion, insertion and the
// confidence change (cam/evaluate.h), with the random, center and edges baselines, per input and
// as a table; with --sanity, whether the map depends on the model's weights at all (cam/sanity.h).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <numeric>
#include <set>

#include "cam/evaluate.h"
#include "cam/evaluate_plot.h"
#include "cam/explain.h"
#include "cam/image.h"
#include "cam/methods.h"
#include "cam/model_input.h"
#include "cam/render.h"
#include "cam/sanity.h"
#include "tensor/hash.h"
#include "tools/batch.h"
#include "tools/cli.h"
#include "tools/commands.h"
#include "tools/model_path.h"
#include "tools/run_common.h"
#include "tools/text_table.h"
#include "weights/model_io.h"

namespace gaze {

namespace {

// A method of the run: a CAM method with its smoothings, a baseline (cam/evaluate.h's table), or
// (--sanity only) guided backpropagation.
struct Method {
  std::string name;
  const BaselineMethod* baseline = nullptr;
  MethodSpec cam;       // a CAM method with its smoothings
  bool guided = false;  // guided-backprop: sum_c |d score / d input| at the input's size
};

// --method and --layer take comma-separated lists, and may be repeated.
std::vector<std::string> split_list(const std::vector<std::string>& values) {
  std::vector<std::string> out;
  for (const std::string& v : values)
    for (std::string& item : cli::split_commas(v))
      if (!item.empty()) out.push_back(std::move(item));
  return out;
}

// A method, layer or class given twice would be evaluated twice and counted twice in the table.
void refuse_repeats(const std::vector<std::string>& names, const std::string& option) {
  std::set<std::string> seen;
  for (const std::string& name : names)
    if (!seen.insert(name).second) throw Error(option + ": " + name + " is given twice");
}

// The lines of the smoothing suffixes, from their table.
std::string smoothing_suffix_help() {
  std::string text;
  for (const SmoothingSuffix& s : kSmoothingSuffixes)
    text += "\n  :" + (s.suffix + std::string(7, ' ')).substr(0, 7) + s.help;
  return text;
}

std::vector<Method> parse_methods(const std::vector<std::string>& names, bool sanity) {
  std::vector<Method> methods;
  for (const std::string& n : names) {
    if (const BaselineMethod* b = find_baseline(n.substr(0, n.find(':')))) {
      if (n.find(':') != std::string::npos)
        throw Error("--method: " + n + ": the baselines take no smoothing");
      methods.push_back({n, b, {}, false});
    } else if (n == "guided-backprop" && sanity) {
      methods.push_back({n, nullptr, {}, true});
    } else if (n == "guided-backprop" || n == "guided-gradcam") {
      std::string baselines;
      for (const BaselineMethod& m : baseline_methods()) baselines += std::string(", ") + m.name;
      throw Error("--method: " + n +
                  " is a gradient at the input, not a class map at a layer; evaluate takes the "
                  "class-map methods" +
                  baselines + (sanity ? "" : " (and guided-backprop with --sanity)"));
    } else {
      const MethodSpec spec = parse_method_spec(n);
      methods.push_back({spec.name, nullptr, spec, false});
    }
  }
  std::vector<std::string> canonical;  // gradcam:aug:eigen and gradcam:eigen:aug are one method
  for (const Method& m : methods) canonical.push_back(m.name);
  refuse_repeats(canonical, "--method");
  return methods;
}

std::string baselines_help() {
  std::string help;
  for (const BaselineMethod& b : baseline_methods())
    help += std::string("\n  ") + b.name + ": " + b.help;
  return help;
}

// The map a method gives, after its ReLU (what `gaze cam` draws); the baselines at the layer's
// grid (random, seeded by the input's relative path, layer and class) or at the input's size.
Tensor method_map(const Method& m, CamSession& session, const std::string& layer, int k,
                  const CamOptions& base, const InputEntry& entry, const Tensor& input) {
  if (m.baseline) {
    switch (m.baseline->kind) {
      case BaselineKind::kRandom: {
        const Tensor& a = session.activations(layer);
        return random_map(a.dim(1), a.dim(2),
                          stable_hash(entry.relative + "\n" + layer + "\n" + std::to_string(k)));
      }
      case BaselineKind::kCenter:
        return center_map(input.dim(1), input.dim(2));
      case BaselineKind::kEdges:
        return edges_map(input);
    }
  }
  if (m.guided) return guided_saliency(session.guided_gradients(k, base.score));
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

// What --sanity needs besides the parser and the batch.
struct SanityRun {
  const LoadedModel& loaded;
  const Preprocessing& preprocessing;
  const std::vector<std::string>& class_names;
  const std::vector<std::string>& class_specs;
  int top = 0;
  const std::vector<std::string>& layers;
  const std::vector<Method>& methods;
  const CamOptions& cam_options;
  RandomizationCascade& cascade;
  uint64_t seed = 0;
};

// One table of the sanity curves: a column per cascade step, headed by the number of layers
// randomized, the cells `value(curve, step)`.
std::string sanity_table(const std::vector<SanityCurve>& curves, const RandomizationCascade& c,
                         const std::vector<double> SanityCurve::*curve_values,
                         double SanityCurve::*mean, bool flag_column) {
  TextTable table;
  table.header = {"method", "layer", "n"};
  table.right_aligned = {false, false, true};
  for (int count : c.counts()) {
    table.header.push_back("k=" + std::to_string(count));
    table.right_aligned.push_back(true);
  }
  table.header.push_back("mean");
  table.right_aligned.push_back(true);
  if (flag_column) table.header.push_back("flag");
  for (const SanityCurve& curve : curves) {
    std::vector<std::string> row = {curve.method, curve.layer, std::to_string(curve.inputs)};
    for (size_t s = 0; s < c.counts().size(); ++s)
      row.push_back(format_number("%.3f", (curve.*curve_values)[s]));
    row.push_back(format_number("%.3f", curve.*mean));
    if (flag_column) row.push_back(curve.flagged ? "barely changes" : "");
    table.rows.push_back(row);
  }
  return table.str();
}

nlohmann::json sanity_curve_json(const SanityCurve& c) {
  return {{"method", c.method},
          {"layer", c.layer},
          {"n", c.inputs},
          {"randomized", c.randomized},
          {"reached", c.reached},
          {"spearman", c.spearman},
          {"ssim", c.ssim},
          {"mean_spearman", c.mean_spearman},
          {"mean_ssim", c.mean_ssim},
          {"flagged", c.flagged}};
}

int run_sanity(const cli::Parser& p, const StopSignal& stop, const BatchPlan& plan,
               const SanityRun& r) {
  const Model& model = r.loaded.model;
  RandomizationCascade& cascade = r.cascade;
  bool gradients = false;
  for (const Method& m : r.methods)
    gradients |= !m.baseline && !m.guided && method_needs_gradients(m.cam.method);
  nlohmann::json steps = nlohmann::json::array();
  std::vector<std::string> reached;
  for (size_t s = 0; s < cascade.counts().size(); ++s) {
    reached.push_back(cascade.reached(s));
    steps.push_back({{"randomized", cascade.counts()[s]}, {"reached", reached.back()}});
  }
  std::vector<SanityComparison> comparisons;
  const int status = run_batch(p, stop, plan, [&](const InputEntry& entry) {
    const ModelInput in = load_model_input(entry.path, model, r.preprocessing);
    const int64_t h = in.tensor.dim(1), w = in.tensor.dim(2);
    // The original maps, at the input's size, in (class, layer, method) order.
    struct Original {
      int k;
      const std::string* layer;
      const Method* method;
    };
    std::vector<Original> originals;
    std::vector<Tensor> original_maps;
    std::vector<Prediction> predictions;
    const auto map_of = [&](CamSession& session, size_t o) {
      const Original& orig = originals[o];
      return method_map(*orig.method, session, *orig.layer, orig.k, r.cam_options, entry,
                        in.tensor);
    };
    {
      CamSession session(model, in.tensor, r.layers, gradients);
      predictions = rank_predictions(session.probabilities(), r.class_names, 0);
      for (int k : chosen_classes(r.class_specs, r.top, session.probabilities(), r.class_names))
        for (const std::string& layer : r.layers)
          for (const Method& m : r.methods) originals.push_back({k, &layer, &m});
      for (size_t o = 0; o < originals.size(); ++o)
        original_maps.push_back(upsample_bilinear(map_of(session, o), h, w));
    }
    const CascadeScores scores =
        compare_under_cascade(cascade, in.tensor, r.layers, gradients, original_maps, map_of);
    const std::vector<std::vector<double>>& rho = scores.spearman;
    const std::vector<std::vector<double>>& sim = scores.ssim;
    nlohmann::json maps = nlohmann::json::array();
    std::string text = entry.path + "\n";
    std::vector<SanityComparison> mine;
    for (size_t o = 0; o < originals.size(); ++o) {
      const Original& orig = originals[o];
      const std::string label = label_of(orig.k, r.class_names);
      maps.push_back({{"method", orig.method->name},
                      {"layer", *orig.layer},
                      {"class", label},
                      {"index", orig.k},
                      {"spearman", rho[o]},
                      {"ssim", sim[o]}});
      std::string rho_text, sim_text;
      for (size_t s = 0; s < rho[o].size(); ++s) {
        mine.push_back({orig.method->name, *orig.layer, s, rho[o][s], sim[o][s]});
        rho_text += format_number(" %.3f", rho[o][s]);
        sim_text += format_number(" %.3f", sim[o][s]);
      }
      text += "  " + orig.method->name + "  " + *orig.layer + "  " + label + "  spearman" +
              rho_text + "  ssim" + sim_text + "\n";
    }
    const nlohmann::json sanity = {{"seed", r.seed}, {"steps", steps}, {"maps", maps}};
    const std::string object =
        "{\"input\": " + json_string(entry.path) + ", \"model\": " + json_string(r.loaded.path) +
        ", \"predictions\": " + predictions_json(predictions) +
        ", \"sanity\": " + sanity.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) +
        "}";
    print_stdout(p.has("json") ? object + "\n" : text);
    comparisons.insert(comparisons.end(), mine.begin(), mine.end());
    return object;
  });
  if (comparisons.empty()) {
    if (p.has("plot")) throw Error(p.get("plot") + ": no input was evaluated, nothing to plot");
    return status;
  }
  const std::vector<SanityCurve> curves = sanity_curves(comparisons, cascade.counts(), reached);
  if (p.has("plot"))
    save_image(p.get("plot"), sanity_plot(curves, static_cast<int>(cascade.order().size())));
  if (p.has("json")) {
    nlohmann::json summary = nlohmann::json::array();
    for (const SanityCurve& c : curves) summary.push_back(sanity_curve_json(c));
    print_stdout(nlohmann::json({{"summary", {{"sanity", summary}}}}).dump() + "\n");
    return status;
  }
  std::string legend;
  for (size_t s = 0; s < reached.size(); ++s)
    legend += (s ? ", " : "") + std::string("k=") + std::to_string(cascade.counts()[s]) +
              " down to " + reached[s];
  print_stdout(
      "\nsanity check (seed " + std::to_string(r.seed) +
      "): the maps after randomizing the top k of " + std::to_string(cascade.order().size()) +
      " weighted layers against the original maps; 1 = unchanged.\ncascade: " + legend +
      "\n\nSpearman rank correlation\n" +
      sanity_table(curves, cascade, &SanityCurve::spearman, &SanityCurve::mean_spearman, true) +
      "\nSSIM (min-max normalized maps)\n" +
      sanity_table(curves, cascade, &SanityCurve::ssim, &SanityCurve::mean_ssim, false) +
      "flag: the mean Spearman over the cascade's steps is above " +
      format_number("%.1f", kSanityFlagSpearman) +
      ": the map barely depends on the weights (expected of the baselines only)\n");
  return status;
}

}  // namespace

int cmd_evaluate(const Args& args) {
  cli::Parser p(
      "evaluate",
      "[--model M [--config FILE]] [--method M,...] [--layer L,...] [--class C | --top "
      "K] [--steps N | --sanity [--sanity-steps K] [--seed S]] [--json] INPUT...",
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
      "same layer, positive when the method is better.\n"
      "--sanity instead runs the model-randomization check (Adebayo et al. 2018): the\n"
      "layers with a kernel are randomized from the output down, cumulatively (their\n"
      "kernels and biases redrawn from N(mean, std) of each tensor, seeded by --seed and\n"
      "the layer's name), and after each step every map (same input, class, layer) is\n"
      "compared with the original, at the input's size, by Spearman's rank correlation\n"
      "(ties averaged) and SSIM (11x11 Gaussian window, sigma 1.5, C1 = 0.01^2,\n"
      "C2 = 0.03^2, on min-max normalized maps). A method whose Spearman, averaged over\n"
      "the inputs and then over the steps, is above 0.5 is flagged: its map barely\n"
      "depends on the model. See docs/sanity.md.");
  p.option("model", "M", kModelOptionHelp)
      .option("config", "FILE", kConfigOptionHelp)
      .option("labels", "FILE", "class names, as for 'gaze cam'")
      .repeated("method", "M,...",
                "methods to evaluate, comma-separated or repeated (default gradcam,random,\n"
                "center). The class-map methods:\n" +
                    cli::join_wrapped(cam_method_names()) +
                    ";\nwith --sanity also guided-backprop (the channel sum of |d score /\n"
                    "d input|); and the baselines, which do not look at the model:" +
                    baselines_help() +
                    "\nA class-map method takes smoothings as suffixes, NAME[:eigen][:aug] (e.g.\n"
                    "gradcam:eigen, layercam:eigen:aug), each its own row:" +
                    smoothing_suffix_help())
      .repeated("layer", "L,...",
                "layers, comma-separated or repeated (default: the last spatial layer)")
      .repeated("class", "C", "class name or index to explain (default: the top class)")
      .option("top", "K", "explain the K most probable classes (instead of --class)")
      .option("steps", "N", "deletion and insertion steps (default 50)")
      .flag("sanity",
            "run the cascading model-randomization check instead of deletion and insertion")
      .option("sanity-steps", "K",
              "--sanity: stop the cascade at K evenly spaced points, each a forward and\n"
              "backward pass per input (default 8; 0 = after every weighted layer)")
      .option("seed", "S", "--sanity: the randomization's seed, 0 or more (default 1)")
      .option("batch", "B", "perturbed inputs per forward pass (default 8)")
      .option("score-cam-channels", "N", "as for 'gaze cam' (default 256; 0 = all)")
      .option("preprocessing", "NAME", "override the model's preprocessing")
      .option("plot", "FILE.png",
              "also draw the mean deletion and insertion curves of each method (and layer)\n"
              "over the inputs of this run, with the mean AUCs in the legend; with --sanity,\n"
              "the mean Spearman and SSIM curves over the cascade")
      .flag("json",
            "one JSON object per input and line instead of the text and the table:\n"
            "{input, model, predictions, evaluations: [{method, layer, class, index, prob,\n"
            "deletion: {auc, fraction, score}, insertion: {...}, average_drop, masked_prob,\n"
            "increase}]}; with --sanity: {input, model, predictions, sanity: {seed, steps:\n"
            "[{randomized, reached}], maps: [{method, layer, class, index, spearman: [per\n"
            "step], ssim: [...]}]}}, and a last line {summary: {sanity: [{method, layer, n,\n"
            "randomized, reached, spearman, ssim, mean_spearman, mean_ssim, flagged}]}} of the\n"
            "means over the inputs")
      .epilog(batch_help() +
              "The table (not with --json) covers the inputs of this run.\n"
              "examples:\n  gaze evaluate photo.jpg\n"
              "  gaze evaluate --method gradcam,gradcam++,scorecam,random,center --layer "
              "mixed7,mixed10 photos/\n"
              "  gaze evaluate --sanity --method gradcam,guided-backprop,edges photos/");
  add_batch_options(p);
  if (!p.parse(args)) return 0;
  if (p.positional().empty()) throw Error("evaluate: no INPUT given (see 'gaze evaluate --help')");
  const StopSignal stop;  // before any thread starts, so that every thread blocks the signals

  std::vector<std::string> method_names = split_list(p.all("method"));
  if (method_names.empty()) method_names = {"gradcam", "random", "center"};
  const bool sanity = p.has("sanity");
  const std::vector<Method> methods = parse_methods(method_names, sanity);
  if (sanity && p.has("steps"))
    throw Error("--steps: deletion and insertion steps, not with --sanity (see --sanity-steps)");
  if (!sanity && (p.has("sanity-steps") || p.has("seed")))
    throw Error(std::string(p.has("seed") ? "--seed" : "--sanity-steps") + ": only with --sanity");
  const long sanity_steps = p.get_int("sanity-steps", 8);
  if (sanity_steps < 0) throw Error("--sanity-steps must be 0 or more");
  const long seed = p.get_int("seed", 1);
  if (seed < 0) throw Error("--seed must be 0 or more");
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

  const std::string plot = p.get("plot");
  if (p.has("plot") && !plot.ends_with(".png"))
    throw Error(plot + ": --plot writes a PNG: the name must end in .png");

  const BatchPlan plan = plan_batch(p);
  const LoadedModel loaded = load_model(p.get("model", default_model_path()), p.get("config"));
  const Model& model = loaded.model;
  const Preprocessing preprocessing = model_preprocessing(p, loaded);
  const std::vector<std::string> class_names = class_names_for(p, loaded);
  std::vector<std::string> layers = split_list(p.all("layer"));
  if (layers.empty()) layers = {model.layer(default_cam_layer(model)).name()};
  refuse_repeats(layers, "--layer");
  for (const std::string& layer : layers) {
    if (!is_spatial_layer(model, model.index_of(layer))) {
      throw Error("layer '" + layer + "' has output " +
                  to_string(model.output_shape(model.index_of(layer))) +
                  ", not a spatial map [h, w, channels] (see 'gaze layers')");
    }
  }
  std::vector<std::string> class_indexes;  // "Porn" and "3" may name one class
  for (const std::string& c : class_specs) {
    class_indexes.push_back("class " +
                            std::to_string(class_index(
                                c, class_names, model.output_shape(model.output_index()).back())));
  }
  refuse_repeats(class_indexes, "--class");
  if (sanity) {
    // The randomized model: a second load of the same file, so the original is never touched.
    RandomizationCascade cascade(
        load_model(p.get("model", default_model_path()), p.get("config")).model,
        static_cast<uint64_t>(seed), static_cast<int>(sanity_steps));
    return run_sanity(p, stop, plan,
                      {loaded, preprocessing, class_names, class_specs, top, layers, methods,
                       cam_options, cascade, static_cast<uint64_t>(seed)});
  }
  bool gradients = false;
  for (const Method& m : methods) gradients |= !m.baseline && method_needs_gradients(m.cam.method);
  const BatchScorer scorer = model_scorer(model);

  std::vector<Result> results;
  std::vector<EvaluatedCurves> curves;  // for --plot
  const int status = run_batch(p, stop, plan, [&](const InputEntry& entry) {
    const ModelInput in = load_model_input(entry.path, model, preprocessing);
    CamSession session(model, in.tensor, layers, gradients);
    const Tensor& probs = session.probabilities();
    const std::vector<int> classes = chosen_classes(class_specs, top, probs, class_names);
    nlohmann::json evaluations = nlohmann::json::array();
    std::vector<Result> mine;
    std::vector<EvaluatedCurves> my_curves;
    std::string text = entry.path + "\n";
    for (int k : classes) {
      for (const std::string& layer : layers) {
        for (const Method& m : methods) {
          const Tensor map = method_map(m, session, layer, k, cam_options, entry, in.tensor);
          const MapEvaluation e = evaluate_map(scorer, in.tensor, map, k, perturbation);
          mine.push_back({m.name, layer, e.deletion.auc, e.insertion.auc, e.confidence.drop,
                          e.confidence.increase});
          if (p.has("plot")) my_curves.push_back({m.name, layer, e.deletion, e.insertion});
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
    curves.insert(curves.end(), my_curves.begin(), my_curves.end());
    return object;
  });
  if (!p.has("json") && !results.empty())
    print_stdout("\n" + summary_table(results, methods, layers));
  if (p.has("plot")) {
    if (curves.empty()) throw Error(plot + ": no input was evaluated, nothing to plot");
    save_image(plot, evaluation_plot(curves));
  }
  return status;
}

}  // namespace gaze
