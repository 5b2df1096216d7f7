// ChatTemplate's shared state, seen by chat_template.cpp (rendering) and
// template_source.cpp (loading from model files and tokenizer folders).
#pragma once

#include <string>

#include "apr/chat_template.hpp"
#include "chat/ast.hpp"
#include "chat/render.hpp"

namespace apr {

// Hidden: a pimpl nested in an exported class would otherwise inherit its
// default visibility and leak into libapr.so's exports.
struct __attribute__((visibility("hidden"))) ChatTemplate::Impl {
    std::string source;
    chat::Template parsed;
    std::string bos_token;
    std::string eos_token;
    std::string warning;
    bool fallback = false;
};

// ChatTemplate::render with explicit limits (the fuzz target uses tighter
// ones so that any work the step budget misses shows up as a slow input).
std::string render_chat(const ChatTemplate::Impl& impl, const std::vector<ChatMessage>& messages,
                        bool add_generation_prompt, std::string_view tools_json, const chat::RenderLimits& limits);

}  // namespace apr
