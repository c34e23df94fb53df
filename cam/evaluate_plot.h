// The picture of `gaze evaluate --plot`: the mean deletion and the mean insertion curve of each
// method (and layer), two panels side by side, drawn with cam/plot.h.
#pragma once

#include <string>
#include <vector>

#include "cam/evaluate.h"
#include "cam/image.h"
#include "cam/plot.h"

namespace gaze {

// The curves of one evaluated map.
struct EvaluatedCurves {
  std::string method, layer;
  Curve deletion, insertion;
};

// The pointwise mean of curves on the same fractions, and the mean of their AUCs (the AUC of the
// mean curve, the trapezoid being linear). Throws Error on no curves or on differing fractions.
Curve mean_curve(const std::vector<const Curve*>& curves);

// Two panels, "deletion (lower is better)" and "insertion (higher is better)", x the fraction of
// pixels changed and y the class probability, one series per method and layer in the order they
// first appear, named "<method> <layer>" when there are several layers, else "<method>", followed
// by "  AUC <mean AUC>" and "(n=<inputs>)". Throws Error on no curves.
std::vector<PlotPanel> evaluation_panels(const std::vector<EvaluatedCurves>& curves);
// The two panels side by side, each 480 px wide and 384 + 16 px per series high.
Image evaluation_plot(const std::vector<EvaluatedCurves>& curves);

}  // namespace gaze
