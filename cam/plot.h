// Line charts drawn with gaze's own bitmap font, for the curves of `gaze evaluate --plot`
// (deletion and insertion, and later the sanity check's): named series of (x, y) points in
// panels side by side, each with a title, axes with ticks and labels, and a legend.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "cam/image.h"

namespace gaze {

struct PlotSeries {
  std::string name;  // shown in the legend
  std::vector<double> x, y;
};

struct PlotPanel {
  std::string title, x_label, y_label;
  double x_min = 0.0, x_max = 1.0, y_min = 0.0, y_max = 1.0;
  int ticks = 5;  // intervals per axis: ticks + 1 labelled ticks
  std::vector<PlotSeries> series;
};

// Where a panel of width x height draws its data: (x_min, y_max) at (left, top), (x_max, y_min)
// at (left + width, top + height). The legend's lines below the x label take their share of the
// height.
struct PlotArea {
  int left = 0, top = 0, width = 0, height = 0;
};
PlotArea plot_area(const PlotPanel& panel, int panel_width, int panel_height);

// The pixel of a data point in a panel drawn at that area: x_min..x_max to left..left + width,
// y_min..y_max to top + height..top, rounded to the nearest pixel.
int plot_px(const PlotPanel& panel, const PlotArea& area, double x);
int plot_py(const PlotPanel& panel, const PlotArea& area, double y);

// Series i is drawn in plot_color(i) (a fixed palette of 10, repeated).
std::array<uint8_t, 3> plot_color(size_t i);

// One panel on white: the series as 2-px polylines (points outside the ranges clipped to the
// area's border), axes, ticks at every 1/ticks of each range labelled with 2 decimals, the title
// above, the x label below, the y label above the y axis, and under everything a legend: a
// colour swatch and the name per series, one per line. Throws Error when the area would be under
// 40 x 40 px, on an empty range, or on a series whose x and y differ in length.
Image draw_plot(const PlotPanel& panel, int width, int height);

// The panels side by side, each width x height.
Image draw_plots(const std::vector<PlotPanel>& panels, int width, int height);

}  // namespace gaze
