// The report page: one self-contained HTML file (inline CSS and JS, the results as inline JSON,
// no network) whose script draws the cards, the filters, the summary and the failures. The page's
// source is report/page/ (template.html, style.css, app.js), embedded at build time.
#pragma once

#include <string>
#include <string_view>

#include "report/results.h"

namespace gaze {

struct ReportOptions {
  std::string title = "gaze report";
  int per_page = 100;  // cards per page
};

// Where the report links a recorded panel path: relative ones are taken relative to `cwd` (where
// gaze ran, which the report assumes is where 'gaze report' runs), then the link is the path from
// `report_dir` to the panel, lexically (as the browser resolves it), percent-encoded so that no
// character of a file name (':', '#', '?', '%', quotes, '<') changes what the URL means.
std::string panel_link(const std::string& panel, const std::string& cwd,
                       const std::string& report_dir);

// Text made safe inside HTML text and quoted attribute values: & < > " ' as entities.
std::string html_escape(std::string_view text);

// JSON text safe inside <script type="application/json">: '<', '>' and '&' (which in JSON only
// occur inside strings) written as \u003c, \u003e, \u0026, so no "</script>" can end the element.
std::string json_for_script(const std::string& json_text);

// The page for `results`, to be written at `report_path` (for the panels' links), from `cwd`.
std::string build_report_page(const ResultSet& results, const ReadStatistics& stats,
                              const std::string& report_path, const std::string& cwd,
                              const ReportOptions& options);

// Writes `page` to `path` atomically (tensor/atomic_write.h): the old report stays until the new
// one is complete; a failed write is an Error naming `path`.
void write_report(const std::string& path, const std::string& page);

}  // namespace gaze
