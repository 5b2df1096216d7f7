// A small streaming JSON text builder: the APR metadata section, the
// SafeTensors header and the config.json of an exported folder. Commas are
// placed automatically; strings go through json_quote, so the text is always
// valid JSON. Numbers are written in their shortest round-trip form (a float
// value through float, so an f32 read back gives the same f32).
//
//   JsonWriter w;
//   w.begin_object(); w.key("hidden_size"); w.value(int64_t{512}); w.end_object();
//   std::string text = w.take();
#pragma once

#include <fmt/format.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/fail.hpp"
#include "formats/inspect_json.hpp"

namespace apr::formats {

class JsonWriter {
public:
    void begin_object() { open('{'); }
    void end_object() { close('}'); }
    void begin_array() { open('['); }
    void end_array() { close(']'); }

    void key(std::string_view name) {
        comma();
        out_ += json_quote(name);
        out_ += ':';
        after_key_ = true;
    }

    void value(std::string_view text) { comma(); out_ += json_quote(text); }
    void value(const char* text) { value(std::string_view(text)); }
    void value(const std::string& text) { value(std::string_view(text)); }
    void value(bool b) { comma(); out_ += b ? "true" : "false"; }
    void value(int64_t v) { comma(); out_ += std::to_string(v); }
    void value(uint64_t v) { comma(); out_ += std::to_string(v); }
    void value(int32_t v) { value(int64_t{v}); }
    void value(uint32_t v) { value(uint64_t{v}); }
    void value(double v) { comma(); out_ += finite_text(v); }
    void value_f32(float v) { comma(); out_ += std::isfinite(v) ? fmt::format("{}", v) : "null"; }
    void null() { comma(); out_ += "null"; }
    // Already-valid JSON text, inserted as one value.
    void raw(std::string_view json) { comma(); out_ += json; }

    template <typename T>
    void field(std::string_view name, const T& v) {
        key(name);
        value(v);
    }

    const std::string& text() const { return out_; }
    std::string take() { return std::move(out_); }

private:
    static std::string finite_text(double v) {
        if (!std::isfinite(v)) return "null";
        std::string s = fmt::format("{}", v);
        return s;
    }
    void comma() {
        if (after_key_) {
            after_key_ = false;
            return;
        }
        if (!first_.empty()) {
            if (!first_.back()) out_ += ',';
            first_.back() = false;
        }
    }
    void open(char c) {
        comma();
        out_ += c;
        first_.push_back(true);
    }
    void close(char c) {
        if (first_.empty()) fail(ErrorCode::internal, "JsonWriter: '{}' without an open container", c);
        first_.pop_back();
        out_ += c;
    }
    std::string out_;
    std::vector<bool> first_;
    bool after_key_ = false;
};

}  // namespace apr::formats
