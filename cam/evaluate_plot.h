// The pictures of `gaze evaluate --plot`, drawn with cam/plot.h: the mean deletion and the mean
// insertion curve of each method (and layer), two panels side by side; with --sanity, the mean
// Spearman and SSIM curves over the randomization cascade.
#pragma once

#include <string>
#include <vector>

#include "cam/evaluate.h"
#include "cam/image.h"
#include "cam/plot.h"
#include "cam/sanity.h"

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
// by "  AUC <mean AUC>" and "(n=<maps>)" (one map per input and class). Throws Error on no curves.
std::vector<PlotPanel> evaluation_panels(const std::vector<EvaluatedCurves>& curves);
// The two panels side by side, each 480 px wide and 384 + 16 px per series high.
Image evaluation_plot(const std::vector<EvaluatedCurves>& curves);

// Two panels, "Spearman rank correlation" and "SSIM", x the share of the `weighted_layers`
// randomized after each step (randomized[s] / weighted_layers) and y the mean over the inputs,
// one series per curve, named as in evaluation_panels, followed by "  mean <mean>" and
// "(n=<maps>)" (one map per input and class) and "  flagged" when it is. y runs from min(0, the
// lowest value rounded down to 0.1) to 1 (unchanged maps). Throws Error on no curves or
// weighted_layers < 1.
std::vector<PlotPanel> sanity_panels(const std::vector<SanityCurve>& curves, int weighted_layers);
// The two panels side by side, each 480 px wide and 384 + 16 px per series high.
Image sanity_plot(const std::vector<SanityCurve>& curves, int weighted_layers);

}  // namespace gaze
