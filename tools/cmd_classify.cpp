// gaze classify: images in, classes and probabilities out.

#include <cstdio>
#include <nlohmann/json.hpp>

#include "cam/model_input.h"
#include "tools/batch.h"
#include "tools/cli.h"
#include "tools/commands.h"
#include "tools/model_path.h"
#include "tools/run_common.h"
#include "weights/model_io.h"

namespace gaze {

int cmd_classify(const Args& args) {
  cli::Parser p(
      "classify", "[--model M [--config FILE]] [--labels FILE] [--top K] [--json] INPUT...",
      "Classifies each INPUT with the model and prints the most probable classes.\n"
      "INPUT is an image (JPEG, PNG, BMP, GIF, TGA, PSD, PNM; grey becomes RGB, alpha is\n"
      "composited over white) or a .npy float32 array [H, W, 3] that is already\n"
      "preprocessed. The model is loaded once; an input that fails prints its error and\n"
      "the others still go through (the exit code is then 1).");
  p.option("model", "M", kModelOptionHelp)
      .option("config", "FILE", kConfigOptionHelp)
      .option("labels", "FILE",
              "class names, one per line in output order, as many as the model has\n"
              "outputs; overrides the model's own names (default: those, "
              "else\n"
              "models/imagenet_classes.txt for a 1000-output model, when "
              "that file exists)")
      .option("top", "K", "print the K most probable classes (default 5; 0 = all)")
      .option("preprocessing", "NAME",
              "override the model's preprocessing: nsfwjs (x/255, TF.js bilinear resize with\n"
              "aligned corners), keras-inception (x/127.5-1), caffe (BGR "
              "minus\n"
              "ImageNet mean), torch (ImageNet mean/std), none")
      .flag("json",
            "one JSON object per input and line: {input, model, predictions[{index, class, prob}]}")
      .epilog(batch_help() +
              "Images are stretched to the model's input size (no crop), as nsfwjs does.\n"
              "examples:\n  gaze classify photo.jpg\n  gaze classify --model "
              "models/nsfwjs_mobilenet_v2.h5 --top 0 --json *.jpg\n"
              "  gaze classify --top 0 --jsonl results.jsonl --resume photos/");
  add_batch_options(p, BatchStages::kLanes);
  if (!p.parse(args)) return 0;
  if (p.positional().empty()) throw Error("classify: no INPUT given (see 'gaze classify --help')");
  const int top = static_cast<int>(p.get_int("top", 5));
  if (top < 0) throw Error("classify: --top must be 0 or more");
  const StopSignal stop;  // before any thread starts, so that every thread blocks the signals
  const BatchPlan plan = plan_batch(p);
  const LoadedModel loaded = load_model(p.get("model", default_model_path()), p.get("config"));
  const Preprocessing method = model_preprocessing(p, loaded);
  const std::vector<std::string> classes = class_names_for(p, loaded);

  const auto load = [&](const InputEntry& entry) {
    return load_model_input(entry.path, loaded.model, method);
  };
  const auto run = [&](const InputEntry& entry, ModelInput&& in) {
    const Model::ForwardResult r = loaded.model.forward(in.tensor);
    const auto predictions = rank_predictions(r.output.value(), classes, top);
    std::string object = "{\"input\": " + json_string(entry.path) +
                         ", \"model\": " + json_string(loaded.path) +
                         ", \"predictions\": " + predictions_json(predictions) + "}";
    std::string text =
        p.has("json") ? object + "\n" : entry.path + "\n" + predictions_text(predictions);
    return BatchOutput{std::move(text), std::move(object)};
  };
  return run_batch(p, stop, plan, pipeline_options(p, BatchStages::kLanes, plan), load, run,
                   NoFinish{});
}

}  // namespace gaze
