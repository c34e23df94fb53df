// gaze's subcommands. Each takes the arguments after its name and returns the exit code; errors
// surface as gaze::Error and become "gaze: error: ..." in main().
#pragma once

#include <string>
#include <vector>

namespace gaze {

using Args = std::vector<std::string>;

int cmd_inspect(const Args& args);   // cmd_inspect.cpp
int cmd_layers(const Args& args);    // cmd_inspect.cpp
int cmd_convert(const Args& args);   // cmd_convert.cpp
int cmd_classify(const Args& args);  // cmd_classify.cpp
int cmd_cam(const Args& args);       // cmd_cam.cpp
int cmd_bench(const Args& args);     // cmd_bench.cpp
int cmd_report(const Args& args);    // cmd_report.cpp
int cmd_evaluate(const Args& args);  // cmd_evaluate.cpp

}  // namespace gaze
