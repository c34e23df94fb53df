#include "cam/plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "cam/render.h"
#include "tensor/error.h"

namespace gaze {

namespace {

constexpr int kMarginLeft = 48;    // the y tick labels ("0.00")
constexpr int kMarginRight = 14;   // half of the last x tick label
constexpr int kMarginTop = 40;     // the title and the y label
constexpr int kMarginBottom = 40;  // the x tick labels and the x label
constexpr int kLegendLine = 16;
constexpr int kTickLength = 4;

constexpr std::array<std::array<uint8_t, 3>, 10> kPalette = {{
    {31, 119, 180},  // matplotlib's tab10
    {255, 127, 14},
    {44, 160, 44},
    {214, 39, 40},
    {148, 103, 189},
    {140, 86, 75},
    {227, 119, 194},
    {127, 127, 127},
    {188, 189, 34},
    {23, 190, 207},
}};

void put(Image& img, int x, int y, const std::array<uint8_t, 3>& c) {
  if (x < 0 || y < 0 || x >= img.width || y >= img.height) return;
  uint8_t* p =
      img.rgb.data() +
      (static_cast<size_t>(y) * static_cast<size_t>(img.width) + static_cast<size_t>(x)) * 3;
  p[0] = c[0];
  p[1] = c[1];
  p[2] = c[2];
}

void fill(Image& img, int x0, int y0, int x1, int y1, const std::array<uint8_t, 3>& c) {
  for (int y = y0; y <= y1; ++y)
    for (int x = x0; x <= x1; ++x) put(img, x, y, c);
}

// Bresenham's line, each point a 2 x 2 block (its top-left at the point).
void line(Image& img, int x0, int y0, int x1, int y1, const std::array<uint8_t, 3>& c) {
  const int dx = std::abs(x1 - x0), dy = -std::abs(y1 - y0);
  const int sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1;
  int err = dx + dy;
  for (;;) {
    fill(img, x0, y0, x0 + 1, y0 + 1, c);
    if (x0 == x1 && y0 == y1) break;
    const int e2 = 2 * err;
    if (e2 >= dy) {
      err += dy;
      x0 += sx;
    }
    if (e2 <= dx) {
      err += dx;
      y0 += sy;
    }
  }
}

std::string tick_label(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

void check_panel(const PlotPanel& panel) {
  if (!(panel.x_max > panel.x_min) || !(panel.y_max > panel.y_min))
    throw Error("plot: the panel '" + panel.title + "' has an empty range");
  if (panel.ticks < 1) throw Error("plot: ticks must be at least 1");
  for (const PlotSeries& s : panel.series) {
    if (s.x.size() != s.y.size())
      throw Error("plot: the series '" + s.name + "' has " + std::to_string(s.x.size()) +
                  " x values and " + std::to_string(s.y.size()) + " y values");
  }
}

}  // namespace

PlotArea plot_area(const PlotPanel& panel, int panel_width, int panel_height) {
  PlotArea a;
  a.left = kMarginLeft;
  a.top = kMarginTop;
  a.width = panel_width - kMarginLeft - kMarginRight;
  a.height = panel_height - kMarginTop - kMarginBottom -
             kLegendLine * static_cast<int>(panel.series.size()) - 4;
  return a;
}

int plot_px(const PlotPanel& panel, const PlotArea& area, double x) {
  const double t = (x - panel.x_min) / (panel.x_max - panel.x_min);
  return area.left + static_cast<int>(std::lround(std::clamp(t, 0.0, 1.0) * area.width));
}

int plot_py(const PlotPanel& panel, const PlotArea& area, double y) {
  const double t = (y - panel.y_min) / (panel.y_max - panel.y_min);
  return area.top + area.height -
         static_cast<int>(std::lround(std::clamp(t, 0.0, 1.0) * area.height));
}

std::array<uint8_t, 3> plot_color(size_t i) {
  return kPalette[i % kPalette.size()];
}

Image draw_plot(const PlotPanel& panel, int width, int height) {
  check_panel(panel);
  const PlotArea a = plot_area(panel, width, height);
  if (a.width < 40 || a.height < 40) {
    throw Error("plot: " + std::to_string(width) + "x" + std::to_string(height) +
                " px is too small for the panel '" + panel.title + "' and its " +
                std::to_string(panel.series.size()) + " series");
  }
  Image img;
  img.width = width;
  img.height = height;
  img.rgb.assign(static_cast<size_t>(width) * static_cast<size_t>(height) * 3, 255);
  const std::array<uint8_t, 3> black = {0, 0, 0}, grid = {230, 230, 230};
  const int bottom = a.top + a.height, right = a.left + a.width;

  // Grid lines and ticks with their labels.
  for (int t = 0; t <= panel.ticks; ++t) {
    const double fx = panel.x_min + (panel.x_max - panel.x_min) * t / panel.ticks;
    const double fy = panel.y_min + (panel.y_max - panel.y_min) * t / panel.ticks;
    const int x = plot_px(panel, a, fx), y = plot_py(panel, a, fy);
    fill(img, x, a.top, x, bottom - 1, grid);
    fill(img, a.left + 1, y, right, y, grid);
    fill(img, x, bottom, x, bottom + kTickLength, black);
    fill(img, a.left - kTickLength, y, a.left, y, black);
    const std::string lx = tick_label(fx), ly = tick_label(fy);
    draw_text(img, x - text_width(lx, 1) / 2, bottom + kTickLength + 2, lx, 0, 0, 0);
    draw_text(img, a.left - kTickLength - 2 - text_width(ly, 1), y - text_height(1) / 2, ly, 0, 0,
              0);
  }
  // Axes, under the data (a curve's first point is on the y axis).
  fill(img, a.left, a.top, a.left, bottom, black);
  fill(img, a.left, bottom, right, bottom, black);
  // The series, clipped to the area.
  for (size_t s = 0; s < panel.series.size(); ++s) {
    const PlotSeries& series = panel.series[s];
    // A NaN or infinite value (a step no input reached) is a gap in the line, never a point.
    auto finite = [&](size_t i) {
      return std::isfinite(series.x[i]) && std::isfinite(series.y[i]);
    };
    for (size_t i = 0; i < series.x.size(); ++i) {
      if (!finite(i)) continue;
      const int x = plot_px(panel, a, series.x[i]), y = plot_py(panel, a, series.y[i]);
      if (i == 0 || !finite(i - 1)) {
        fill(img, x, y, x + 1, y + 1, plot_color(s));
      } else {
        line(img, plot_px(panel, a, series.x[i - 1]), plot_py(panel, a, series.y[i - 1]), x, y,
             plot_color(s));
      }
    }
  }
  // Title, axis labels, legend.
  draw_text(img, (width - text_width(panel.title, 1)) / 2, 4, panel.title, 0, 0, 0);
  draw_text(img, 4, a.top - text_height(1) - 6, panel.y_label, 0, 0, 0);
  const int label_y = bottom + kTickLength + 2 + text_height(1) + 2;
  draw_text(img, a.left + (a.width - text_width(panel.x_label, 1)) / 2, label_y, panel.x_label, 0,
            0, 0);
  int y = label_y + text_height(1) + 6;
  for (size_t s = 0; s < panel.series.size(); ++s, y += kLegendLine) {
    fill(img, a.left, y + 5, a.left + 17, y + 7, plot_color(s));
    draw_text(img, a.left + 24, y, panel.series[s].name, 0, 0, 0);
  }
  return img;
}

Image draw_plots(const std::vector<PlotPanel>& panels, int width, int height) {
  if (panels.empty()) throw Error("plot: no panels");
  Image out;
  out.width = width * static_cast<int>(panels.size());
  out.height = height;
  out.rgb.assign(static_cast<size_t>(out.width) * static_cast<size_t>(height) * 3, 255);
  for (size_t p = 0; p < panels.size(); ++p) {
    const Image one = draw_plot(panels[p], width, height);
    for (int y = 0; y < height; ++y) {
      std::copy_n(one.rgb.data() + static_cast<size_t>(y) * static_cast<size_t>(width) * 3,
                  static_cast<size_t>(width) * 3,
                  out.rgb.data() + (static_cast<size_t>(y) * static_cast<size_t>(out.width) +
                                    p * static_cast<size_t>(width)) *
                                       3);
    }
  }
  return out;
}

}  // namespace gaze
