// C ABI: status names, the thread-local last error, version, freeing what
// libapr allocated, and the pins between C and C++ enum values.
#include <cstdlib>
#include <cstring>

#include "apr/error.hpp"
#include "apr/generate.hpp"
#include "apr/model.hpp"
#include "apr/version.hpp"
#include "capi_internal.hpp"

// The C values are the C++ ones: static_cast between them is exact.
#define APR_PIN(c_value, cpp_value) static_assert(static_cast<int>(c_value) == static_cast<int>(cpp_value), #c_value)
APR_PIN(APR_OK, apr::ErrorCode::ok);
APR_PIN(APR_ERR_INVALID_ARGUMENT, apr::ErrorCode::invalid_argument);
APR_PIN(APR_ERR_IO, apr::ErrorCode::io);
APR_PIN(APR_ERR_BAD_FORMAT, apr::ErrorCode::bad_format);
APR_PIN(APR_ERR_UNSUPPORTED, apr::ErrorCode::unsupported);
APR_PIN(APR_ERR_OUT_OF_MEMORY, apr::ErrorCode::out_of_memory);
APR_PIN(APR_ERR_CONTEXT_OVERFLOW, apr::ErrorCode::context_overflow);
APR_PIN(APR_ERR_CANCELLED, apr::ErrorCode::cancelled);
APR_PIN(APR_ERR_NOT_FOUND, apr::ErrorCode::not_found);
APR_PIN(APR_ERR_INTERNAL, apr::ErrorCode::internal);
APR_PIN(APR_FINISH_STOP, apr::FinishReason::stop);
APR_PIN(APR_FINISH_LENGTH, apr::FinishReason::length);
APR_PIN(APR_FINISH_CANCELLED, apr::FinishReason::cancelled);
APR_PIN(APR_DEVICE_CPU, apr::Device::cpu);
APR_PIN(APR_DEVICE_CUDA, apr::Device::cuda);
APR_PIN(APR_OP_EMBED, apr::OpKind::embed);
APR_PIN(APR_OP_RMSNORM, apr::OpKind::rmsnorm);
APR_PIN(APR_OP_MATMUL, apr::OpKind::matmul);
APR_PIN(APR_OP_BIAS, apr::OpKind::bias);
APR_PIN(APR_OP_ROPE, apr::OpKind::rope);
APR_PIN(APR_OP_ATTENTION, apr::OpKind::attention);
APR_PIN(APR_OP_SWIGLU, apr::OpKind::swiglu);
APR_PIN(APR_OP_ADD, apr::OpKind::add);
APR_PIN(APR_OP_LM_HEAD, apr::OpKind::lm_head);
APR_PIN(APR_STAGE_EMBEDDING, apr::LayerStage::embedding);
APR_PIN(APR_STAGE_BLOCK_OUTPUT, apr::LayerStage::block_output);
APR_PIN(APR_STAGE_FINAL_NORM, apr::LayerStage::final_norm);
#undef APR_PIN
static_assert(sizeof(apr_status) == 4, "apr_status is int32_t whatever the enum size");

namespace apr::capi {
namespace {
// Fixed storage: writing the error never allocates, so it cannot throw.
thread_local char last_error[2048];
}  // namespace

void append_last_error(const char* message) noexcept {
    if (message == nullptr) return;
    const size_t used = std::strlen(last_error);
    std::strncat(last_error, message, sizeof(last_error) - 1 - used);
}
void set_last_error(const char* message) noexcept {
    last_error[0] = '\0';
    append_last_error(message);
}
void clear_last_error() noexcept { last_error[0] = '\0'; }
const char* last_error_cstr() noexcept { return last_error; }

void require(bool ok, const char* what) {
    if (!ok) throw apr::Error(apr::ErrorCode::invalid_argument, what);
}

char* copy_string(std::string_view s) {
    char* out = static_cast<char*>(std::malloc(s.size() + 1));
    if (out == nullptr) throw std::bad_alloc();
    if (!s.empty()) std::memcpy(out, s.data(), s.size());
    out[s.size()] = '\0';
    return out;
}

int32_t* copy_tokens(const std::vector<int32_t>& ids) {
    if (ids.empty()) return nullptr;
    auto* out = static_cast<int32_t*>(std::malloc(ids.size() * sizeof(int32_t)));
    if (out == nullptr) throw std::bad_alloc();
    std::memcpy(out, ids.data(), ids.size() * sizeof(int32_t));
    return out;
}

}  // namespace apr::capi

extern "C" {

const char* apr_status_str(apr_status status) {
    if (status < APR_OK || status > APR_ERR_INTERNAL) return "unknown";
    return apr::error_code_name(static_cast<apr::ErrorCode>(status));
}

const char* apr_last_error(void) { return apr::capi::last_error_cstr(); }

int32_t apr_version_number(void) {
    const apr::Version v = apr::version();
    return v.major * 10000 + v.minor * 100 + v.patch;
}

const char* apr_version_str(void) { return apr::version_string(); }

const char* apr_build_info(void) {
    // Built once (thread-safe static init); a failure leaves a fixed line.
    static const char* const info = [] {
        try {
            static const std::string text = apr::build_info();
            return text.c_str();
        } catch (...) {
            return "libapr (build info unavailable)";
        }
    }();
    return info;
}

void apr_string_free(char* text) { std::free(text); }
void apr_tokens_free(int32_t* tokens) { std::free(tokens); }

}  // extern "C"
