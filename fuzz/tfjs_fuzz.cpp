// TF.js models (weights/tfjs.h): a model.json with its binary weight shards, or an nsfwjs
// bundle (model.min.js with base64 shards NAME.min.js). One input holds several files split by
// fuzz_support.h's separator line: the model file first, then shard 1, 2, ... written as
// `shard<i>` and `shard<i>.min.js` (the seeds' manifests name their shards shard1, shard2, ...).
// What was read is then built into a model and its weights loaded by name, as `gaze convert`
// does.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>

#include "fuzz/fuzz_support.h"
#include "layers/keras_config.h"
#include "tensor/error.h"
#include "weights/model_io.h"
#include "weights/tfjs.h"

namespace {

constexpr size_t kMaxShards = 8;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const gaze::fuzz::ScratchDir& dir = gaze::fuzz::scratch();
  const std::vector<std::string_view> parts =
      gaze::fuzz::split_files(gaze::fuzz::as_text(data, size));
  const std::string path = dir.write("model.json", parts[0]);
  for (size_t i = 1; i <= kMaxShards; ++i) {
    const std::string name = "shard" + std::to_string(i);
    if (i < parts.size()) {
      dir.write(name, parts[i]);
      dir.write(name + ".min.js", parts[i]);
    } else {
      // No shard left over from an earlier input.
      std::error_code ignored;
      std::filesystem::remove(dir.path() + "/" + name, ignored);
      std::filesystem::remove(dir.path() + "/" + name + ".min.js", ignored);
    }
  }
  try {
    const gaze::KerasFile file = gaze::read_tfjs_model(path);
    gaze::Model model = gaze::model_from_keras_config(file.model_config);
    gaze::load_weights_by_name(model, file, path);
  } catch (const gaze::Error& e) {
    gaze::fuzz::expected(e);
  }
  return 0;
}
