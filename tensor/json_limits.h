// Limits on untrusted JSON (a model.json, a Keras config, a line of a results file), checked on
// the text before a parser builds anything from it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace gaze {

// The deepest nesting of arrays and objects gaze accepts. Real Keras configs nest about 14 deep
// (a functional model inside a model, tests/fixtures/keras3/nested_config.json); the parsed
// values are copied, compared and printed by recursive code, so a file nesting a million deep
// would overflow the stack instead of failing.
constexpr int kMaxJsonDepth = 100;
// The largest JSON text gaze parses: 256 MiB (a Keras config is a few hundred KB).
constexpr uint64_t kMaxJsonBytes = uint64_t{256} << 20;

// Throws Error("<label>: <what> nests arrays and objects deeper than 100 levels") or
// ("... is N bytes, over the limit of M") when `text` breaks the limits. Strings (with their
// escapes) are skipped, so brackets inside them do not count. Malformed JSON passes here: the
// parser reports it.
void check_json_limits(std::string_view text, const std::string& label, const std::string& what,
                       uint64_t max_bytes = kMaxJsonBytes);

}  // namespace gaze
