// C ABI: chat templates (a model's or from source) and rendering.
#include <memory>
#include <string>
#include <vector>

#include "apr/chat_template.hpp"
#include "apr/error.hpp"
#include "capi_internal.hpp"

struct apr_chat_template {
    apr::ChatTemplate tmpl;
};

namespace {
using apr::capi::require;

void render_into(const apr_chat_template* tmpl, const std::vector<apr::ChatMessage>& messages,
                 int32_t add_generation_prompt, const char* tools_json, char** out_text, size_t* out_len) {
    const std::string text =
        tmpl->tmpl.render(messages, add_generation_prompt != 0, tools_json ? std::string_view(tools_json) : "");
    *out_text = apr::capi::copy_string(text);
    *out_len = text.size();
}
}  // namespace

extern "C" {

apr_status apr_model_get_chat_template(const apr_model* model, apr_chat_template** out) {
    if (out) *out = nullptr;
    return apr::capi::guarded([&] {
        require(model != nullptr && out != nullptr, "apr_model_get_chat_template: model or out is NULL");
        *out = new apr_chat_template{apr::ChatTemplate::from_model_file(model->model->file())};
    });
}

apr_status apr_chat_template_from_source(const char* jinja_source, const char* bos_token, const char* eos_token,
                                         apr_chat_template** out) {
    if (out) *out = nullptr;
    return apr::capi::guarded([&] {
        require(jinja_source != nullptr && out != nullptr, "apr_chat_template_from_source: source or out is NULL");
        *out = new apr_chat_template{
            apr::ChatTemplate::from_source(jinja_source, bos_token ? bos_token : "", eos_token ? eos_token : "")};
    });
}

void apr_chat_template_free(apr_chat_template* tmpl) { delete tmpl; }

const char* apr_chat_template_warning(const apr_chat_template* tmpl) {
    return tmpl ? tmpl->tmpl.warning().c_str() : "";
}

apr_status apr_chat_template_render(const apr_chat_template* tmpl, const apr_chat_message* messages, size_t count,
                                    int32_t add_generation_prompt, const char* tools_json, char** out_text,
                                    size_t* out_len) {
    if (out_text) *out_text = nullptr;
    if (out_len) *out_len = 0;
    return apr::capi::guarded([&] {
        require(tmpl != nullptr && out_text != nullptr && out_len != nullptr,
                "apr_chat_template_render: tmpl, out_text or out_len is NULL");
        require(messages != nullptr || count == 0, "apr_chat_template_render: messages is NULL");
        std::vector<apr::ChatMessage> list;
        list.reserve(count);
        for (size_t i = 0; i < count; ++i) {
            if (messages[i].role == nullptr)
                throw apr::Error(apr::ErrorCode::invalid_argument,
                                 "apr_chat_template_render: messages[" + std::to_string(i) + "].role is NULL");
            list.push_back({messages[i].role, messages[i].content ? messages[i].content : "",
                            messages[i].tool_calls_json ? messages[i].tool_calls_json : ""});
        }
        render_into(tmpl, list, add_generation_prompt, tools_json, out_text, out_len);
    });
}

apr_status apr_chat_template_render_json(const apr_chat_template* tmpl, const char* messages_json,
                                         int32_t add_generation_prompt, const char* tools_json, char** out_text,
                                         size_t* out_len) {
    if (out_text) *out_text = nullptr;
    if (out_len) *out_len = 0;
    return apr::capi::guarded([&] {
        require(tmpl != nullptr && messages_json != nullptr && out_text != nullptr && out_len != nullptr,
                "apr_chat_template_render_json: tmpl, messages_json, out_text or out_len is NULL");
        render_into(tmpl, apr::parse_messages_json(messages_json), add_generation_prompt, tools_json, out_text,
                    out_len);
    });
}

}  // extern "C"
