// Equality of GGUF-style metadata values for tests: same type ids, same
// value (f32 values compared as floats), arrays element by element.
#pragma once

#include <variant>

#include "apr/model_file.hpp"

namespace apr::test {

inline bool same_meta(const MetaValue& a, const MetaValue& b) {
    if (a.type != b.type || a.element_type != b.element_type || a.value.index() != b.value.index()) return false;
    if (a.type == static_cast<uint32_t>(MetaType::float32))
        return static_cast<float>(*meta_float(a)) == static_cast<float>(*meta_float(b));
    if (const MetaArray* x = meta_array(a)) {
        const MetaArray* y = meta_array(b);
        if (x->size() != y->size()) return false;
        for (size_t i = 0; i < x->size(); ++i)
            if (!same_meta((*x)[i], (*y)[i])) return false;
        return true;
    }
    if (const auto* u = std::get_if<uint64_t>(&a.value)) return *u == std::get<uint64_t>(b.value);
    if (const auto* i = std::get_if<int64_t>(&a.value)) return *i == std::get<int64_t>(b.value);
    if (const auto* d = std::get_if<double>(&a.value)) return *d == std::get<double>(b.value);
    if (const auto* f = std::get_if<bool>(&a.value)) return *f == std::get<bool>(b.value);
    return *meta_string(a) == *meta_string(b);
}

}  // namespace apr::test
