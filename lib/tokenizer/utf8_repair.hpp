// Turns decoded token bytes into valid UTF-8 the way Rust's
// String::from_utf8_lossy (and so Hugging Face's decode) does: each maximal
// ill-formed subpart (the longest prefix of a would-be sequence that is still
// valid so far, at least one byte) becomes one U+FFFD.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace apr::tokenizer {

// Appends the repaired form of `bytes` to `out` and returns how many bytes
// were consumed. Unless `final`, a trailing sequence that is incomplete but
// could still become valid is left unconsumed (for streaming).
size_t append_utf8_repaired(std::string_view bytes, bool final, std::string& out);

}  // namespace apr::tokenizer
