// Field tables of every size-prefixed struct in apr.h (see capi_sized.hpp).
// Appending a field to a struct means appending it here too; the
// static_asserts below fail to compile otherwise.
#pragma once

#include "capi_sized.hpp"

namespace apr::capi {

#define APR_CAPI_LAYOUT(T, ...)                                  \
    template <>                                                  \
    struct StructLayout<T> {                                     \
        static constexpr const char* name = #T;                  \
        static constexpr FieldSpan fields[] = {__VA_ARGS__};     \
    };                                                           \
    static_assert(layout_is_complete<T>(), #T ": a field is missing from its StructLayout")

#define F(T, f) APR_CAPI_FIELD(T, f)

APR_CAPI_LAYOUT(apr_model_config, F(apr_model_config, struct_size), F(apr_model_config, hidden_size),
                F(apr_model_config, num_layers), F(apr_model_config, num_heads), F(apr_model_config, num_kv_heads),
                F(apr_model_config, head_dim), F(apr_model_config, intermediate_size),
                F(apr_model_config, vocab_size), F(apr_model_config, context_length),
                F(apr_model_config, rope_theta), F(apr_model_config, rms_norm_eps),
                F(apr_model_config, tied_embeddings), F(apr_model_config, attention_bias),
                F(apr_model_config, bos_token_id), F(apr_model_config, pad_token_id),
                F(apr_model_config, eos_token_id), F(apr_model_config, eos_token_count));

APR_CAPI_LAYOUT(apr_tensor_info, F(apr_tensor_info, struct_size), F(apr_tensor_info, name),
                F(apr_tensor_info, source_name), F(apr_tensor_info, type), F(apr_tensor_info, n_dims),
                F(apr_tensor_info, shape), F(apr_tensor_info, n_bytes));

APR_CAPI_LAYOUT(apr_model_params, F(apr_model_params, struct_size), F(apr_model_params, n_threads),
                F(apr_model_params, progress_callback), F(apr_model_params, progress_user_data),
                F(apr_model_params, device));

APR_CAPI_LAYOUT(apr_session_params, F(apr_session_params, struct_size), F(apr_session_params, context_length),
                F(apr_session_params, kv_cache_f32), F(apr_session_params, batch_size),
                F(apr_session_params, kv_type));

APR_CAPI_LAYOUT(apr_observer, F(apr_observer, struct_size), F(apr_observer, on_op), F(apr_observer, on_layer),
                F(apr_observer, user_data), F(apr_observer, on_batch_begin), F(apr_observer, on_batch_end),
                F(apr_observer, on_phase), F(apr_observer, on_tokenize), F(apr_observer, on_sample),
                F(apr_observer, wants_outputs));

APR_CAPI_LAYOUT(apr_generate_params, F(apr_generate_params, struct_size), F(apr_generate_params, max_tokens),
                F(apr_generate_params, temperature), F(apr_generate_params, top_k), F(apr_generate_params, top_p),
                F(apr_generate_params, min_p), F(apr_generate_params, repeat_penalty),
                F(apr_generate_params, presence_penalty), F(apr_generate_params, frequency_penalty),
                F(apr_generate_params, penalty_last_n), F(apr_generate_params, seed),
                F(apr_generate_params, stop_strings), F(apr_generate_params, stop_string_count),
                F(apr_generate_params, parse_special), F(apr_generate_params, cancel),
                F(apr_generate_params, stop_token_ids), F(apr_generate_params, stop_token_id_count),
                F(apr_generate_params, logprobs), F(apr_generate_params, abort_callback),
                F(apr_generate_params, abort_user_data), F(apr_generate_params, event_callback),
                F(apr_generate_params, event_user_data));

APR_CAPI_LAYOUT(apr_generate_result, F(apr_generate_result, struct_size), F(apr_generate_result, finish_reason),
                F(apr_generate_result, prompt_tokens), F(apr_generate_result, completion_tokens),
                F(apr_generate_result, prompt_ms), F(apr_generate_result, generation_ms),
                F(apr_generate_result, text), F(apr_generate_result, tokens), F(apr_generate_result, text_len),
                F(apr_generate_result, logprobs_k), F(apr_generate_result, logprobs),
                F(apr_generate_result, top_logprobs));

#undef F
#undef APR_CAPI_LAYOUT

// The first layouts, as callers compiled against 0.1.0's first header sent
// them: their sizes stay valid struct_size values forever.
static_assert(offsetof(apr_model_params, device) >= 16, "apr_model_params grew inside its first layout");
static_assert(offsetof(apr_session_params, kv_type) >= 32, "apr_session_params grew inside its first layout");
static_assert(offsetof(apr_generate_params, stop_token_ids) >= 120, "apr_generate_params grew inside its first layout");
static_assert(offsetof(apr_generate_result, text_len) >= 64, "apr_generate_result grew inside its first layout");
static_assert(offsetof(apr_observer, on_batch_begin) >= 32, "apr_observer grew inside its first layout");

}  // namespace apr::capi
