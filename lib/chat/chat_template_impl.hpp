// ChatTemplate's shared state, seen by chat_template.cpp (rendering) and
// template_source.cpp (loading from model files and tokenizer folders).
#pragma once

#include <string>

#include "apr/chat_template.hpp"
#include "chat/ast.hpp"

namespace apr {

struct ChatTemplate::Impl {
    std::string source;
    chat::Template parsed;
    std::string bos_token;
    std::string eos_token;
    std::string warning;
    bool fallback = false;
};

}  // namespace apr
