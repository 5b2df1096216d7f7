// libapr's canonical tensor names are GGUF's (llama.cpp's) names. Hugging
// Face names map onto them here; a name with no mapping is kept as it is.
//
//   model.embed_tokens.weight                      -> token_embd.weight
//   model.norm.weight                              -> output_norm.weight
//   lm_head.weight                                 -> output.weight
//   model.layers.N.input_layernorm.weight          -> blk.N.attn_norm.weight
//   model.layers.N.self_attn.{q,k,v}_proj.{weight,bias} -> blk.N.attn_{q,k,v}.{weight,bias}
//   model.layers.N.self_attn.o_proj.{weight,bias}  -> blk.N.attn_output.{weight,bias}
//   model.layers.N.post_attention_layernorm.weight -> blk.N.ffn_norm.weight
//   model.layers.N.mlp.{gate,up,down}_proj.weight  -> blk.N.ffn_{gate,up,down}.weight
#pragma once

#include <string>
#include <string_view>

namespace apr::formats {

std::string canonical_tensor_name(std::string_view hf_name);

// The inverse: the Hugging Face name of a canonical name (unknown names unchanged).
std::string hf_tensor_name(std::string_view canonical_name);

}  // namespace apr::formats
