#include "cam/evaluate_plot.h"

#include <algorithm>
#include <cstdio>
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

Image evaluation_plot(const std::vector<EvaluatedCurves>& curves) {
  const std::vector<PlotPanel> panels = evaluation_panels(curves);
  // A 300-px-high area above the legend, whatever the number of series.
  const int legend = 16 * static_cast<int>(panels.front().series.size());
  return draw_plots(panels, 480, 384 + legend);
}

}  // namespace gaze
