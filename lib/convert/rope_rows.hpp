// llama.cpp's converter reorders the q/k projection rows of Llama models so
// that rotary pairs are adjacent ("normal" RoPE) instead of half a head apart
// (Hugging Face's "neox" layout). Moving weights between the two worlds
// applies the permutation or its inverse; it moves whole rows, so it works on
// any row-major tensor of any type (a quantized row is a whole number of blocks).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "core/fail.hpp"

namespace apr::convert {

// Within each head of `rows / heads` rows: neox row j*(d/2) + i becomes
// normal row 2*i + j (to_normal), or back (to_normal = false).
inline void permute_rope_rows(std::span<std::byte> data, int64_t rows, int64_t heads, bool to_normal) {
    if (heads <= 0 || rows % heads != 0 || (rows / heads) % 2 != 0)
        fail(ErrorCode::bad_format, "cannot reorder rotary rows: {} rows in {} heads", rows, heads);
    const size_t row_bytes = data.size() / static_cast<size_t>(rows);
    const int64_t d = rows / heads, half = d / 2;
    std::vector<std::byte> head(static_cast<size_t>(d) * row_bytes);
    for (int64_t h = 0; h < heads; ++h) {
        std::byte* base = data.data() + static_cast<size_t>(h * d) * row_bytes;
        std::memcpy(head.data(), base, head.size());
        for (int64_t i = 0; i < half; ++i)
            for (int64_t j = 0; j < 2; ++j) {
                const int64_t neox = j * half + i, normal = 2 * i + j;
                const int64_t from = to_normal ? neox : normal, to = to_normal ? normal : neox;
                std::memcpy(base + static_cast<size_t>(to) * row_bytes, head.data() + static_cast<size_t>(from) * row_bytes,
                            row_bytes);
            }
    }
}

}  // namespace apr::convert
