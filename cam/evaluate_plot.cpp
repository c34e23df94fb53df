#include "cam/evaluate_plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <tuple>
#include <utility>

#include "tensor/error.h"

namespace gaze {

Curve mean_curve(const std::vector<const Curve*>& curves) {
  if (curves.empty()) throw Error("evaluate: no curves to average");
  Curve mean;
  mean.fraction = curves.front()->fraction;
  mean.score.assign(mean.fraction.size(), 0.0);
  for (const Curve* c : curves) {
    if (c->fraction != mean.fraction || c->score.size() != mean.score.size())
      throw Error("evaluate: the curves to average have different steps");
    for (size_t i = 0; i < mean.score.size(); ++i) mean.score[i] += c->score[i];
    mean.auc += c->auc;
  }
  const double n = static_cast<double>(curves.size());
  for (double& s : mean.score) s /= n;
  mean.auc /= n;
  return mean;
}

std::vector<PlotPanel> evaluation_panels(const std::vector<EvaluatedCurves>& curves) {
  if (curves.empty()) throw Error("evaluate: nothing to plot");
  std::vector<std::pair<std::string, std::string>> keys;  // (method, layer), first seen first
  bool several_layers = false;
  for (const EvaluatedCurves& c : curves) {
    several_layers |= c.layer != curves.front().layer;
    const std::pair<std::string, std::string> key{c.method, c.layer};
    if (std::find(keys.begin(), keys.end(), key) == keys.end()) keys.push_back(key);
  }
  PlotPanel deletion, insertion;
  deletion.title = "deletion (lower is better)";
  insertion.title = "insertion (higher is better)";
  for (PlotPanel* p : {&deletion, &insertion}) {
    p->x_label = "fraction of pixels changed";
    p->y_label = "class probability";
  }
  for (const auto& [method, layer] : keys) {
    std::vector<const Curve*> del, ins;
    for (const EvaluatedCurves& c : curves) {
      if (c.method != method || c.layer != layer) continue;
      del.push_back(&c.deletion);
      ins.push_back(&c.insertion);
    }
    const std::string name = several_layers ? method + " " + layer : method;
    for (auto [panel, group] : {std::pair{&deletion, &del}, std::pair{&insertion, &ins}}) {
      const Curve mean = mean_curve(*group);
      char label[64];
      std::snprintf(label, sizeof label, "  AUC %.4f (n=%zu)", mean.auc, group->size());
      panel->series.push_back({name + label, mean.fraction, mean.score});
    }
  }
  return {deletion, insertion};
}

namespace {

// Side by side, with a 300-px-high area above the legend whatever the number of series.
Image draw_with_legend(const std::vector<PlotPanel>& panels) {
  const int legend = 16 * static_cast<int>(panels.front().series.size());
  return draw_plots(panels, 480, 384 + legend);
}

}  // namespace

Image evaluation_plot(const std::vector<EvaluatedCurves>& curves) {
  return draw_with_legend(evaluation_panels(curves));
}

std::vector<PlotPanel> sanity_panels(const std::vector<SanityCurve>& curves, int weighted_layers) {
  if (curves.empty()) throw Error("evaluate: no sanity curves to plot");
  if (weighted_layers < 1) throw Error("evaluate: the cascade has no weighted layer");
  bool several_layers = false;
  for (const SanityCurve& c : curves) several_layers |= c.layer != curves.front().layer;
  PlotPanel spearman, ssim;
  spearman.title = "Spearman rank correlation (1 = unchanged)";
  ssim.title = "SSIM (1 = unchanged)";
  double lowest = 0.0;
  for (const SanityCurve& c : curves) {
    std::vector<double> x;
    for (int n : c.randomized) x.push_back(static_cast<double>(n) / weighted_layers);
    const std::string name = several_layers ? c.method + " " + c.layer : c.method;
    for (auto [panel, values, mean] : {std::tuple{&spearman, &c.spearman, c.mean_spearman},
                                       std::tuple{&ssim, &c.ssim, c.mean_ssim}}) {
      char label[64];
      std::snprintf(label, sizeof label, "  mean %.3f (n=%d)%s", mean, c.inputs,
                    c.flagged ? "  flagged" : "");
      panel->series.push_back({name + label, x, *values});
      for (double v : *values) lowest = std::min(lowest, v);
    }
  }
  for (PlotPanel* p : {&spearman, &ssim}) {
    p->x_label = "share of the weighted layers randomized, from the output down";
    p->y_label = "mean over the inputs";
    p->y_min = std::floor(lowest * 10.0) / 10.0;
    p->y_max = 1.0;
  }
  return {spearman, ssim};
}

Image sanity_plot(const std::vector<SanityCurve>& curves, int weighted_layers) {
  return draw_with_legend(sanity_panels(curves, weighted_layers));
}

}  // namespace gaze
