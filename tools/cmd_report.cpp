// gaze report: the JSON Lines of cam and classify runs in, one static HTML page out.
#include <filesystem>
#include <map>

#include "report/page.h"
#include "report/results.h"
#include "tensor/error.h"
#include "tools/cli.h"
#include "tools/commands.h"
#include "tools/run_common.h"

namespace gaze {

namespace {

// Problems printed per JSON Lines file before the rest are only counted: a file of garbage must
// not bury the terminal.
constexpr size_t kProblemsShownPerFile = 10;

}  // namespace

int cmd_report(const Args& args) {
  cli::Parser p(
      "report", "[--out FILE] [--title TEXT] [--per-page N] RESULTS.jsonl...",
      "Writes one self-contained HTML page (inline CSS and JS, no network) from the JSON\n"
      "Lines of 'gaze cam --json' and 'gaze classify --json' (or --jsonl files): a grid\n"
      "of cards (panel, file, top classes, rating), filters by predicted class, by a\n"
      "class's probability or the rating, sorting, search by file name, a summary with\n"
      "histograms, and the failed inputs with their errors.\n"
      "Several files (one per shard) merge into one report. An input that appears more\n"
      "than once (a resumed or re-run input) shows its last successful line; a failure\n"
      "never replaces a success.");
  p.option("out", "FILE", "the page to write (default report.html), atomically")
      .option("title", "TEXT", "the page's title (default 'gaze report')")
      .option("per-page", "N", "cards per page (default 100)")
      .epilog(
          "Panels: a relative panel path in the results is taken relative to the current\n"
          "folder (run 'gaze report' where gaze cam ran), and the page links it relative to\n"
          "the report's folder, so the report and the panels can be moved together.\n"
          "Panels load lazily, only when their card is on screen.\n"
          "Bad input: a malformed line is skipped and reported as\n"
          "  gaze: error: <file>:<line>: <problem>\n"
          "(the first 10 per file, then a count), as is an unreadable file; the report is\n"
          "still written from the rest, and the exit code is then 1. Failed inputs (error\n"
          "lines) are part of the report, not errors of it. When no file could be read,\n"
          "no report is written.\n"
          "The view lives in the URL's hash, e.g. report.html#class=Porn&min=0.5&sort=Sexy&q=cat:\n"
          "  class=C         only inputs whose most probable class is C\n"
          "  of=C|rating     what min and max apply to (default: the class filter's class,\n"
          "                  else each input's most probable class)\n"
          "  min=X, max=Y    keep X <= probability (or rating) <= Y\n"
          "  sort=C|rating|file, order=asc|desc   (default: file order; C and rating high\n"
          "                  to low)\n"
          "  q=TEXT          file names containing TEXT (any case)\n"
          "  page=N          the N-th page of the view\n"
          "examples:\n"
          "  gaze cam --json --rating 'Sexy=10,Porn=10,Neutral=5,Drawing=2,Hentai=2' *.jpg > "
          "r.jsonl\n"
          "  gaze report r.jsonl --out report.html\n"
          "  gaze report shard-0.jsonl shard-1.jsonl shard-2.jsonl --out all.html");
  if (!p.parse(args)) return 0;
  if (p.positional().empty())
    throw Error("report: no RESULTS.jsonl given (see 'gaze report --help')");
  ReportOptions options;
  options.title = p.get("title", options.title);
  const long per_page = p.get_int("per-page", options.per_page);
  if (per_page < 1 || per_page > 100000) throw Error("--per-page must be from 1 to 100000");
  options.per_page = static_cast<int>(per_page);
  const std::string out = p.get("out", "report.html");

  std::map<std::string, size_t> problems_per_file;
  ResultSet results;
  const ReadStatistics stats = read_results(p.positional(), results, [&](const ReadProblem& what) {
    if (++problems_per_file[what.file] <= kProblemsShownPerFile) cli::report_error(what.text());
  });
  for (const auto& [file, count] : problems_per_file) {
    if (count > kProblemsShownPerFile) {
      cli::report_error(file + ": " + std::to_string(count - kProblemsShownPerFile) +
                        " more malformed lines skipped");
    }
  }
  if (stats.files_read == 0) return 1;  // each file's problem is printed; no page of nothing

  std::error_code error;
  const std::string cwd = std::filesystem::current_path(error).string();
  if (error) throw Error("report: cannot tell the current folder (" + error.message() + ")");
  write_report(out, build_report_page(results, stats, out, cwd, options));
  size_t failed = 0;
  for (const Result& r : results.results()) failed += r.failed() ? 1 : 0;
  print_stdout(out + ": " + std::to_string(results.results().size() - failed) + " results, " +
               std::to_string(failed) + " failed inputs, from " + std::to_string(stats.files_read) +
               " files\n");
  return stats.bad_lines > 0 || stats.bad_files > 0 ? 1 : 0;
}

}  // namespace gaze
