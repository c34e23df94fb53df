// Pieces the model-running commands (classify, cam, layers, inspect) share.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "cam/explain.h"  // default_cam_layer, is_spatial_layer
#include "cam/model_input.h"
#include "tools/cli.h"
#include "weights/model_io.h"

namespace gaze {

// The --model and --config options' help, the same wherever a command runs a model.
inline constexpr const char* kModelOptionHelp =
    "Keras model: .keras or .h5, or a weights-only file (.weights.h5,\n"
    "Keras 2 weights .h5) with --config (default: $GAZE_MODEL, else\n"
    "models/nsfwjs_inception_v3.h5)";
inline constexpr const char* kConfigOptionHelp =
    "the architecture of a weights-only model file: Keras 3's config.json or\n"
    "the JSON of model.to_json() (Keras 2 or 3)";

// `text` as a JSON string; bytes that are not UTF-8 (a file name may hold any) become U+FFFD.
std::string json_string(const std::string& text);
// [{"index": i, "class": name, "prob": p}, ...] with probabilities as printf's %.9g.
std::string predictions_json(const std::vector<Prediction>& predictions);
// The class names to print for the model's outputs, in index order:
//  - --labels FILE if given: one name per line (blank lines at the end ignored, a '\r' before
//    each '\n' dropped), exactly as many as the model's output units, else Error naming the file
//    and both counts;
//  - else the names stored in the model file;
//  - else, for a 1000-unit output (an ImageNet classifier such as keras.applications'), the names
//    in models/imagenet_classes.txt (tools/fetch_models.sh), found like the default model, if
//    that file exists;
//  - else none (the labels are then class_<i>).
std::vector<std::string> class_names_for(const cli::Parser& p, const LoadedModel& loaded);
// --preprocessing if given, else what the model file says; Error when neither says.
Preprocessing model_preprocessing(const cli::Parser& p, const LoadedModel& loaded);
// The predictions as the text output lists them, one "  <class> <probability>" line each.
std::string predictions_text(const std::vector<Prediction>& predictions);
// `value` printed with the printf format `format` (one double conversion).
std::string format_number(const char* format, double value);
// Writes `text` to stdout; throws Error("stdout: cannot write (<reason>)") when that fails (a full
// disk under a redirection), clearing the error for the next try.
void print_stdout(const std::string& text);
// Flushes stdout; throws Error("stdout: cannot write (<reason>)") when that or an earlier write to
// it failed (a full disk under a redirection), clearing the error for the next try.
void check_stdout();
// "gaze: <input>: <ms> ms, RSS <MiB> MiB\n" (--verbose): the time an input took and the
// process's resident set size, read from /proc/self/statm.
std::string progress_line(const std::string& input, double milliseconds);

// --class's value: a class name, else an index below `count`; Error listing the names otherwise.
int class_index(const std::string& spec, const std::vector<std::string>& classes, int64_t count);
// The classes to explain on an input: --class (class_specs), else the --top K (default 1) most
// probable.
std::vector<int> chosen_classes(const std::vector<std::string>& class_specs, int top,
                                const Tensor& probs, const std::vector<std::string>& class_names);
// The name of class k: classes[k], else "class_<k>".
std::string label_of(int k, const std::vector<std::string>& classes);

}  // namespace gaze
