// gaze bench: speed and memory of the model-running paths, measured, never asserted.
#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "cam/explain.h"
#include "cam/methods.h"
#include "layers/cost.h"
#include "layers/keras_layers.h"
#include "tensor/gemm.h"
#include "tensor/npy.h"
#include "tools/cli.h"
#include "tools/commands.h"
#include "tools/model_path.h"
#include "tools/run_common.h"

extern char** environ;

namespace gaze {
namespace {

using Clock = std::chrono::steady_clock;

struct Stats {
  std::vector<double> ms;
  double at(double q) const {  // quantile of the sorted samples
    std::vector<double> s = ms;
    std::sort(s.begin(), s.end());
    return s[static_cast<size_t>(q * static_cast<double>(s.size() - 1) + 0.5)];
  }
  nlohmann::json json() const {
    return {{"median", at(0.5)}, {"min", at(0.0)}, {"max", at(1.0)},
            {"p10", at(0.1)},    {"p90", at(0.9)}, {"runs", ms.size()}};
  }
};

Stats time_it(const std::function<void()>& fn, int warmup, int runs) {
  for (int i = 0; i < warmup; ++i) fn();
  Stats s;
  for (int i = 0; i < runs; ++i) {
    const auto t0 = Clock::now();
    fn();
    s.ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  return s;
}

// `n` copies of the [1, H, W, C] input `x` as one [n, H, W, C] batch.
Tensor repeat_batch(const Tensor& x, int64_t n) {
  Shape shape = x.shape();
  shape[0] = n;
  Tensor xs(shape);
  const auto one = x.values();
  for (int64_t i = 0; i < n; ++i) std::copy(one.begin(), one.end(), xs.data() + i * x.size());
  return xs;
}

// Multiply-adds of every Conv2D in the model, batch 1.
int64_t conv_multiply_adds(const Model& m, std::vector<bool>* is_conv) {
  int64_t macs = 0;
  is_conv->assign(m.size(), false);
  for (size_t i = 0; i < m.size(); ++i) {
    const auto* conv = dynamic_cast<const Conv2D*>(&m.layer(i));
    if (!conv) continue;
    (*is_conv)[i] = true;
    const Shape& out = m.output_shape(i);
    const Shape& kernel = conv->weights()[0].shape;  // [kh, kw, in, out]
    macs += out[1] * out[2] * kernel[0] * kernel[1] * kernel[2] * kernel[3];
  }
  return macs;
}

// The machine's GEMM rate: a large square sgemm, best of a few, same thread count.
double sgemm_gflops() {
  const int64_t n = 2048;
  Tensor a = Tensor::full({n, n}, 0.5f), b = Tensor::full({n, n}, 0.25f), c = Tensor::zeros({n, n});
  double best = 1e30;
  for (int r = 0; r < 6; ++r) {
    const auto t0 = Clock::now();
    gemm(Transpose::kNo, Transpose::kNo, n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f, c.data(),
         n);
    best = std::min(best, std::chrono::duration<double>(Clock::now() - t0).count());
  }
  return 2.0 * static_cast<double>(n * n * n) / best / 1e9;
}

// Peak RSS (MiB) of a separate `gaze cam` process on one input: what a user's run costs.
// Measured by /usr/bin/time -f %M, not by our own wait4: a child spawned straight from this
// process (vfork + exec) inherits this process's high-water mark into its ru_maxrss, so it
// would report the benchmark's memory, not gaze cam's. Returns a negative value without time.
// `model_options`: the --model, --config and --preprocessing options bench was given.
double cam_process_peak_rss_mb(const std::vector<std::string>& model_options,
                               const std::string& input, int threads) {
  const char* time_tool = "/usr/bin/time";
  if (!std::filesystem::exists(time_tool)) return -1.0;
  namespace fs = std::filesystem;
  const std::string stem =
      (fs::temp_directory_path() / ("gaze-bench-" + std::to_string(getpid()))).string();
  const std::string out = stem + ".png", report = stem + ".time";
  std::vector<std::string> args = {
      time_tool, "-f", "%M", "-o", report, fs::read_symlink("/proc/self/exe").string(), "cam"};
  args.insert(args.end(), model_options.begin(), model_options.end());
  args.insert(args.end(), {"--out", out, input});
  std::vector<char*> argv;
  for (std::string& s : args) argv.push_back(s.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e) env_strings.emplace_back(*e);
  env_strings.push_back("OMP_NUM_THREADS=" + std::to_string(threads));
  std::vector<char*> envp;
  for (std::string& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, time_tool, &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw Error("bench: cannot start 'gaze cam' for the memory figure");
  int status = 0;
  waitpid(pid, &status, 0);
  fs::remove(out);
  long kib = -1;
  if (FILE* f = std::fopen(report.c_str(), "r")) {
    if (std::fscanf(f, "%ld", &kib) != 1) kib = -1;
    std::fclose(f);
  }
  fs::remove(report);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || kib < 0) {
    throw Error("bench: 'gaze cam' failed on " + input);
  }
  return static_cast<double>(kib) / 1024.0;
}

// Per-layer medians of the forward pass (no gradients) over `runs` runs.
struct LayerTimes {
  std::vector<double> ms;  // per layer; 0 for layers run inside a folded chain
  double conv_ms = 0.0;    // median over runs of the conv layers' total
};

LayerTimes time_layers(const Model& m, const Tensor& x, const std::vector<bool>& is_conv,
                       int runs) {
  std::vector<std::vector<double>> samples(m.size());
  std::vector<double> conv;
  for (int r = 0; r < runs; ++r) {
    std::vector<double> seconds;
    ModelForwardOptions options;
    options.layer_seconds = &seconds;
    m.forward(x, options);
    seconds.resize(m.size());
    double total = 0.0;
    for (size_t i = 0; i < seconds.size(); ++i) {
      samples[i].push_back(seconds[i] * 1e3);
      if (is_conv[i]) total += seconds[i] * 1e3;
    }
    conv.push_back(total);
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  LayerTimes t;
  for (const auto& s : samples) t.ms.push_back(median(s));
  t.conv_ms = median(conv);
  return t;
}

// The layers by decreasing median time, with the convolutions' direct-method GFLOP/s.
void print_profile(const Model& m, const LayerTimes& t, int64_t conv_macs) {
  std::vector<size_t> order(m.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return t.ms[a] > t.ms[b]; });
  double total = 0.0;
  for (double v : t.ms) total += v;
  std::printf(
      "per layer (median of each; a folded Conv2D includes its BatchNormalization and "
      "ReLU), total %.1f ms, convolutions %.1f ms for %.2f G multiply-adds:\n",
      total, t.conv_ms, static_cast<double>(conv_macs) / 1e9);
  std::printf("  %-28s %-20s %-18s %-14s %8s %8s\n", "layer", "class", "output", "kernel", "ms",
              "GFLOP/s");
  // A group of sibling 1x1 convolutions runs as one GEMM timed under its first member.
  std::map<size_t, std::vector<size_t>> groups;
  for (const std::vector<std::string>& names : m.sibling_groups()) {
    for (const std::string& name : names) groups[m.index_of(names[0])].push_back(m.index_of(name));
  }
  auto multiply_adds = [&](size_t i) {
    const Shape& k = m.layer(i).weights()[0].shape;
    const Shape& o = m.output_shape(i);
    return static_cast<double>(o[1] * o[2] * k[0] * k[1] * k[2] * k[3]);
  };
  for (size_t i : order) {
    if (t.ms[i] < 0.005) continue;
    const Layer& l = m.layer(i);
    std::string kernel, gflops;
    if (const auto* conv = dynamic_cast<const Conv2D*>(&l)) {
      const Shape& k = conv->weights()[0].shape;
      kernel = std::to_string(k[0]) + "x" + std::to_string(k[1]) + " s" +
               std::to_string(conv->config().stride_h);
      double macs = multiply_adds(i);
      if (groups.count(i)) {
        macs = 0.0;
        for (size_t member : groups[i]) macs += multiply_adds(member);
        kernel += " +" + std::to_string(groups[i].size() - 1);
      }
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.0f", 2.0 * macs / t.ms[i] / 1e6);
      gflops = buf;
    }
    std::printf("  %-28s %-20s %-18s %-14s %8.2f %8s\n", l.name().c_str(), l.class_name(),
                to_string(m.output_shape(i)).c_str(), kernel.c_str(), t.ms[i], gflops.c_str());
  }
  std::printf("  (\"+N\": N sibling 1x1 convolutions run in the same GEMM, timed here)\n");
}

// --profile --json: each layer's median time with its cost (layers/cost.h), in layer order.
nlohmann::json profile_json(const Model& m, const LayerTimes& t) {
  const std::vector<LayerCost> costs = layer_costs(m);
  nlohmann::json layers = nlohmann::json::array();
  for (size_t i = 0; i < m.size(); ++i) {
    const LayerCost& c = costs[i];
    const std::vector<Weight>& w = m.layer(i).weights();
    const bool conv = !w.empty() && w[0].shape.size() == 4;  // [kh, kw, in, out]
    layers.push_back({{"name", m.layer(i).name()},
                      {"kernel", conv ? nlohmann::json{w[0].shape[0], w[0].shape[1]} : nullptr},
                      {"class", m.layer(i).class_name()},
                      {"output", m.output_shape(i)},
                      {"ms", t.ms[i]},
                      {"multiply_adds", c.multiply_adds},
                      {"executed_multiply_adds", c.executed_multiply_adds},
                      {"bytes", c.bytes},
                      {"winograd", c.winograd}});
  }
  return layers;
}

constexpr const char* kDefaultBenchInput = "tests/fixtures/npy/astronaut_299_inception_v3.npy";

// The bundled InceptionV3 input where the model takes its shape, else a constant 0.5 image.
// Returns the path used, or "" for the constant image.
std::string default_bench_input(const Model& m, Preprocessing preprocessing, Tensor& x) {
  const Shape& s = m.input_shape();
  if (s[1] == 299 && s[2] == 299 && s[3] == 3 && std::filesystem::exists(kDefaultBenchInput)) {
    x = load_model_input(kDefaultBenchInput, m, preprocessing).tensor;
    return kDefaultBenchInput;
  }
  x = Tensor::full({1, s[1], s[2], s[3]}, 0.5f);
  return "";
}

}  // namespace

int cmd_bench(const Args& args) {
  cli::Parser p(
      "bench",
      "[--model M [--config FILE]] [--input X] [--runs N] [--warmup W] [--threads T] "
      "[--batch N] [--no-winograd] [--profile] "
      "[--json]",
      "Measures, for one [1, H, W, 3] input: the forward pass (no gradients), Grad-CAM at\n"
      "the default layer and at mixed7 (when the model has it), Grad-CAM++ at the default\n"
      "layer (each: forward + backward + map), the peak RSS of a separate one-image\n"
      "'gaze cam' process, the convolutions' achieved GFLOP/s (2 x multiply-adds / time in\n"
      "the conv layers) on the im2col + GEMM path and with Winograd's algorithm (where fewer\n"
      "multiplies are done, the GFLOP/s count the direct method's), and this machine's sgemm\n"
      "GFLOP/s on a 2048^3 product.\n"
      "Times are medians with their spread over --runs runs after --warmup runs.\n"
      "tools/bench.sh runs this next to the PyTorch reference and prints the comparison.");
  p.option("model", "M", kModelOptionHelp)
      .option("config", "FILE", kConfigOptionHelp)
      .option(
          "input", "X",
          "image or .npy input (default tests/fixtures/npy/astronaut_299_inception_v3.npy where "
          "the model takes 299x299x3, else a constant grey image)")
      .option("preprocessing", "NAME",
              "override the model's preprocessing (see 'gaze classify --help')")
      .option("runs", "N", "timed runs per figure (default 20)")
      .option("warmup", "W", "untimed runs first (default 3)")
      .option("threads", "T", "threads for GEMMs and gaze's loops (default: all cores)")
      .option("batch", "N",
              "also time one forward pass of N copies of the input as a [N, H, W, 3] batch "
              "(default 1: not timed)")
      .flag("no-winograd", "every convolution on im2col + GEMM (default: Winograd where it gains)")
      .flag("profile",
            "also print each layer's median time, slowest first (with --json: \"layers\",\n"
            "each layer's time, multiply-adds direct and executed, and bytes moved)")
      .flag("json", "print one JSON line instead of the table");
  if (!p.parse(args)) return 0;
  const int runs = static_cast<int>(p.get_int("runs", 20));
  const int warmup = static_cast<int>(p.get_int("warmup", 3));
  const int threads = static_cast<int>(
      p.get_int("threads", static_cast<long>(std::max(1u, std::thread::hardware_concurrency()))));
  const int64_t batch = p.get_int("batch", 1);
  if (runs < 1 || warmup < 0 || threads < 1 || batch < 1)
    throw Error("bench: --runs, --threads and --batch must be positive");
  set_blas_threads(threads);

  const std::string model_path = p.get("model", default_model_path());
  LoadedModel loaded = load_model(model_path, p.get("config"));
  Model& m = loaded.model;
  m.use_winograd(!p.has("no-winograd"));
  Tensor x;
  std::string input;
  if (p.has("input")) {
    input = p.get("input");
    if (!std::filesystem::exists(input)) throw Error(input + ": no such file");
    x = load_model_input(input, m, model_preprocessing(p, loaded)).tensor;
  } else {
    input = default_bench_input(m, model_preprocessing(p, loaded), x);
  }
  const std::string layer = m.layer(default_cam_layer(m)).name();
  const int top = rank_predictions(m.forward(x).output.value(), {}, 1)[0].index;

  auto cam = [&](const std::string& at, CamMethod method) {
    return [&, at, method] {
      CamSession s(m, x, {at}, true);
      CamOptions o;
      o.method = method;
      relu_map(s.map(at, top, o));
    };
  };
  nlohmann::json out = {{"tool", "gaze"},      {"variant", "gaze"},        {"threads", threads},
                        {"model", model_path}, {"input_shape", x.shape()}, {"cam_layer", layer}};
  out["forward_ms"] = time_it([&] { m.forward(x); }, warmup, runs).json();
  if (batch > 1) {
    const Tensor xs = repeat_batch(x, batch);
    out["batch"] = batch;
    out["forward_batch_ms"] = time_it([&] { m.forward(xs); }, warmup, runs).json();
  }
  out["gradcam_" + layer + "_ms"] = time_it(cam(layer, CamMethod::kGradCam), warmup, runs).json();
  if (m.contains("mixed7"))
    out["gradcam_mixed7_ms"] = time_it(cam("mixed7", CamMethod::kGradCam), warmup, runs).json();
  out["gradcampp_" + layer + "_ms"] =
      time_it(cam(layer, CamMethod::kGradCamPlusPlus), warmup, runs).json();

  std::vector<bool> is_conv;
  const int64_t macs = conv_multiply_adds(m, &is_conv);
  const bool winograd = m.uses_winograd();
  const LayerTimes with_default = time_layers(m, x, is_conv, std::max(3, runs / 4));
  m.use_winograd(false);
  const LayerTimes im2col =
      winograd ? time_layers(m, x, is_conv, std::max(3, runs / 4)) : with_default;
  m.use_winograd(winograd);
  out["conv_multiply_adds"] = macs;
  out["conv_ms"] = im2col.conv_ms;
  out["conv_gflops"] = 2.0 * static_cast<double>(macs) / im2col.conv_ms / 1e6;
  if (winograd) {
    out["conv_winograd_ms"] = with_default.conv_ms;
    out["conv_winograd_gflops"] = 2.0 * static_cast<double>(macs) / with_default.conv_ms / 1e6;
  }
  out["sgemm_gflops"] = sgemm_gflops();
  if (!input.empty()) {
    std::vector<std::string> model_options = {"--model", model_path};
    for (const char* option : {"config", "preprocessing"}) {
      if (p.has(option))
        model_options.insert(model_options.end(), {"--" + std::string(option), p.get(option)});
    }
    const double peak = cam_process_peak_rss_mb(model_options, input, threads);
    if (peak >= 0.0)
      out["peak_rss_mb"] = peak;
    else
      std::fprintf(stderr,
                   "gaze: bench: no /usr/bin/time (Debian package 'time'): no memory figure\n");
  }

  if (p.has("profile")) out["layers"] = profile_json(m, with_default);
  if (p.has("json")) {
    std::cout << out.dump() << "\n";
    return 0;
  }
  auto row = [&](const char* name, const std::string& key) {
    if (!out.contains(key)) return;
    const auto& s = out[key];
    std::printf("  %-26s median %7.1f ms   (min %.1f, p10 %.1f, p90 %.1f, max %.1f; %d runs)\n",
                name, s["median"].get<double>(), s["min"].get<double>(), s["p10"].get<double>(),
                s["p90"].get<double>(), s["max"].get<double>(), s["runs"].get<int>());
  };
  std::printf("gaze bench: %s, input %s, %d thread(s)\n", model_path.c_str(),
              to_string(x.shape()).c_str(), threads);
  row("forward (no grad)", "forward_ms");
  if (batch > 1) row(("forward, batch " + std::to_string(batch)).c_str(), "forward_batch_ms");
  row(("Grad-CAM " + layer).c_str(), "gradcam_" + layer + "_ms");
  row("Grad-CAM mixed7", "gradcam_mixed7_ms");
  row(("Grad-CAM++ " + layer).c_str(), "gradcampp_" + layer + "_ms");
  std::printf(
      "  convolutions, im2col + GEMM: %.2f G multiply-adds in %.1f ms = %.1f GFLOP/s; sgemm "
      "2048^3: %.1f GFLOP/s (%.0f%%)\n",
      static_cast<double>(macs) / 1e9, out["conv_ms"].get<double>(),
      out["conv_gflops"].get<double>(), out["sgemm_gflops"].get<double>(),
      100.0 * out["conv_gflops"].get<double>() / out["sgemm_gflops"].get<double>());
  if (winograd) {
    std::printf("  convolutions, with Winograd: %.1f ms = %.1f direct-method GFLOP/s\n",
                out["conv_winograd_ms"].get<double>(), out["conv_winograd_gflops"].get<double>());
  }
  if (out.contains("peak_rss_mb"))
    std::printf("  peak RSS of one 'gaze cam' run: %.0f MiB\n", out["peak_rss_mb"].get<double>());
  if (p.has("profile")) print_profile(m, with_default, macs);
  return 0;
}

}  // namespace gaze
