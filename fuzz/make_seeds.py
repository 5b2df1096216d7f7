#!/usr/bin/env python3
"""Writes small, valid seed files for the model-format fuzzers.

libFuzzer mutates its corpus; starting from files the readers accept makes it
reach the deep checks (tensor table, data ranges, metadata typing, the APR
index and JSON) instead of spending minutes finding the magic numbers. The
files are tiny (a few KiB) so each run stays fast; the real fixtures are MBs.

  fuzz/make_seeds.py OUT_DIR [--apr PATH_TO_apr]

writes OUT_DIR/gguf/*, OUT_DIR/safetensors/* and, when the `apr` program is
given, OUT_DIR/apr/* made by `apr import` of the GGUF seeds (so the APR seeds
come from libapr's own writer), plus one APR file written here from the
specification (docs/apr-format.md) with every metadata section present.
Standard library only.
"""
import argparse
import json
import os
import struct
import subprocess
import sys
import zlib

# GGUF value types
U8, I8, U16, I16, U32, I32, F32, BOOL, STR, ARR, U64, I64, F64 = range(13)
SCALAR_FMT = {U8: "<B", I8: "<b", U16: "<H", I16: "<h", U32: "<I", I32: "<i", F32: "<f",
              BOOL: "<?", U64: "<Q", I64: "<q", F64: "<d"}


def gguf_string(s):
    b = s.encode()
    return struct.pack("<Q", len(b)) + b


def gguf_value(vtype, value):
    if vtype == STR:
        return gguf_string(value)
    if vtype == ARR:
        etype, items = value
        out = struct.pack("<IQ", etype, len(items))
        for item in items:
            out += gguf_value(etype, item)
        return out
    return struct.pack(SCALAR_FMT[vtype], value)


# GGML tensor types used by the seeds: id -> (block elements, block bytes)
GGML = {"F32": (0, 1, 4), "F16": (1, 1, 2), "Q4_0": (2, 32, 18), "Q8_0": (8, 32, 34),
        "Q4_K": (12, 256, 144), "Q6_K": (14, 256, 210), "BF16": (30, 1, 2)}


def tensor_bytes(type_name, dims):
    _, block, nbytes = GGML[type_name]
    count = 1
    for d in dims:
        count *= d
    return count // block * nbytes


def fill(n, seed):
    """Deterministic bytes that are finite when read as f16/f32/bf16 (small values)."""
    out = bytearray()
    x = seed
    while len(out) < n:
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
        out += bytes([x >> 16 & 0x3F, 0x3C])  # little-endian f16 in [1, 2); fine as scales too
    return bytes(out[:n])


def write_gguf(path, metadata, tensors, alignment=32):
    """metadata: [(key, type, value)]; tensors: [(name, type_name, dims innermost first)]."""
    head = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(metadata))
    for key, vtype, value in metadata:
        head += gguf_string(key) + struct.pack("<I", vtype) + gguf_value(vtype, value)
    offset = 0
    data = b""
    for i, (name, type_name, dims) in enumerate(tensors):
        head += gguf_string(name) + struct.pack("<I", len(dims))
        head += b"".join(struct.pack("<Q", d) for d in dims)
        head += struct.pack("<IQ", GGML[type_name][0], offset)
        body = fill(tensor_bytes(type_name, dims), i + 1)
        pad = (-len(body)) % alignment
        data += body + b"\0" * pad
        offset += len(body) + pad
    head += b"\0" * ((-len(head)) % alignment)
    with open(path, "wb") as f:
        f.write(head + data)


def tiny_vocab():
    tokens = ["a", "b", "c", "ab", "bc", "abc", "\u0120", "\u0120a", "<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    types = [1] * 8 + [3, 3, 3]
    return tokens, types, ["a b", "b c", "ab c", "\u0120 a"]


def tiny_model_gguf(path, arch="qwen2", weight_type="F32", extra=(), hidden=32):
    """A complete (tiny) model: every tensor and key a Qwen2/Llama GGUF has.
    K-quant rows need hidden = 256 (one super-block)."""
    ffn, vocab_rows, heads, kv_heads = hidden, 16, 4, 2
    tokens, types, merges = tiny_vocab()
    tokens += [f"[PAD{i}]" for i in range(vocab_rows - len(tokens))]
    types += [5] * (vocab_rows - len(types))
    a = arch + "."
    metadata = [
        ("general.architecture", STR, arch),
        ("general.name", STR, "seed"),
        ("general.file_type", U32, 0),
        (a + "context_length", U32, 128),
        (a + "embedding_length", U32, hidden),
        (a + "block_count", U32, 1),
        (a + "feed_forward_length", U32, ffn),
        (a + "attention.head_count", U32, heads),
        (a + "attention.head_count_kv", U32, kv_heads),
        (a + "rope.freq_base", F32, 1000000.0),
        (a + "attention.layer_norm_rms_epsilon", F32, 1e-6),
        ("tokenizer.ggml.model", STR, "gpt2"),
        ("tokenizer.ggml.pre", STR, "qwen2"),
        ("tokenizer.ggml.tokens", ARR, (STR, tokens)),
        ("tokenizer.ggml.token_type", ARR, (I32, types)),
        ("tokenizer.ggml.merges", ARR, (STR, merges)),
        ("tokenizer.ggml.eos_token_id", U32, 10),
        ("tokenizer.ggml.padding_token_id", U32, 8),
        ("tokenizer.ggml.bos_token_id", U32, 8),
        ("tokenizer.ggml.add_bos_token", BOOL, False),
        ("tokenizer.chat_template", STR,
         "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"
         "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"),
    ] + list(extra)
    kv_dim = hidden // heads * kv_heads
    w = weight_type
    tensors = [
        ("token_embd.weight", w, [hidden, vocab_rows]),
        ("output_norm.weight", "F32", [hidden]),
        ("output.weight", w, [hidden, vocab_rows]),
        ("blk.0.attn_norm.weight", "F32", [hidden]),
        ("blk.0.attn_q.weight", w, [hidden, hidden]),
        ("blk.0.attn_k.weight", w, [hidden, kv_dim]),
        ("blk.0.attn_v.weight", w, [hidden, kv_dim]),
        ("blk.0.attn_output.weight", w, [hidden, hidden]),
        ("blk.0.ffn_norm.weight", "F32", [hidden]),
        ("blk.0.ffn_gate.weight", w, [hidden, ffn]),
        ("blk.0.ffn_up.weight", w, [hidden, ffn]),
        ("blk.0.ffn_down.weight", w, [ffn, hidden]),
    ]
    if arch == "qwen2":
        tensors += [("blk.0.attn_q.bias", "F32", [hidden]), ("blk.0.attn_k.bias", "F32", [kv_dim]),
                    ("blk.0.attn_v.bias", "F32", [kv_dim])]
    write_gguf(path, metadata, tensors)


def every_type_gguf(path):
    """Not a model: one key of every value type (arrays of arrays too) and small tensors of several types."""
    metadata = [
        ("general.architecture", STR, "qwen2"),
        ("k.u8", U8, 7), ("k.i8", I8, -7), ("k.u16", U16, 700), ("k.i16", I16, -700),
        ("k.u32", U32, 70000), ("k.i32", I32, -70000), ("k.f32", F32, 0.5), ("k.bool", BOOL, True),
        ("k.str", STR, "caf\u00e9"), ("k.u64", U64, 1 << 40), ("k.i64", I64, -(1 << 40)), ("k.f64", F64, 2.25),
        ("k.arr_f32", ARR, (F32, [1.0, -2.5])),
        ("k.arr_arr", ARR, (ARR, [(U8, [1, 2]), (STR, ["x"])])),
        ("general.alignment", U32, 64),
    ]
    tensors = [("a", "F32", [4, 2]), ("b", "F16", [8]), ("c", "Q4_0", [32, 2]), ("d", "Q8_0", [32]),
               ("e", "Q4_K", [256]), ("f", "Q6_K", [256]), ("g", "BF16", [3, 1, 2])]
    write_gguf(path, metadata, tensors, alignment=64)


def write_safetensors(path, tensors, metadata=None):
    """tensors: [(name, dtype, shape)] with dtype F32/F16/BF16."""
    header = {}
    offset = 0
    body = b""
    for i, (name, dtype, shape) in enumerate(tensors):
        count = 1
        for d in shape:
            count *= d
        nbytes = count * (4 if dtype == "F32" else 2)
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + nbytes]}
        body += fill(nbytes, i + 1)
        offset += nbytes
    if metadata is not None:
        header["__metadata__"] = metadata
    text = json.dumps(header).encode()
    text += b" " * ((-len(text)) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + body)


def crc32(b):
    return zlib.crc32(b) & 0xFFFFFFFF


def write_apr(path, metadata, tensors):
    """APR v2 per docs/apr-format.md. tensors: [(name, type_name, dims outermost first)]."""
    meta = json.dumps(metadata).encode()
    meta_padded = meta + b"\0" * ((-len(meta)) % 64)
    index = b""
    data = b""
    for i, (name, type_name, dims) in enumerate(sorted(tensors)):
        body = fill(tensor_bytes(type_name, dims), i + 1)
        index += struct.pack("<H", len(name)) + name.encode() + struct.pack("<BB", GGML[type_name][0], len(dims))
        index += b"".join(struct.pack("<Q", d) for d in dims) + struct.pack("<QQ", len(data), len(body))
        data += body + b"\0" * ((-len(body)) % 64)
    index += b"\0" * ((-len(index)) % 64)
    index_offset = 64 + len(meta_padded)
    data_offset = index_offset + len(index)
    header = b"APR\0" + struct.pack("<BBHIQIQQ", 2, 0, 0, len(tensors), 64, len(meta), index_offset, data_offset)
    assert len(header) == 40
    header += struct.pack("<I", crc32(header + b"\0" * 20)) + b"\0" * 20
    body = header + meta_padded + index + data
    with open(path, "wb") as f:
        f.write(body + struct.pack("<I", crc32(body)))


def spec_apr(path):
    tokens, types, merges = tiny_vocab()
    metadata = {
        "architecture": "llama", "hidden_size": 64, "num_layers": 1, "num_heads": 2, "num_kv_heads": 1,
        "head_dim": 32, "vocab_size": len(tokens), "intermediate_size": 32, "max_position_embeddings": 64,
        "rope_theta": 10000.0, "rope_type": "normal", "rope_scaling": "default", "rms_norm_eps": 1e-5,
        "tied_embeddings": True, "attention_bias": False, "bos_token_id": 8, "eos_token_ids": [10, 8],
        "pad_token_id": None, "torch_dtype": "bfloat16", "layer_types": ["full_attention"],
        "chat_template": "{{ messages[0].content }}", "special_tokens": {"bos": 8, "eos": 10, "eot": 10},
        "tokenizer": {"model": "gpt2", "pre_type": "llama-bpe", "vocabulary": tokens, "merges": merges,
                      "token_type": types, "bos_token_id": 8, "eos_token_id": 10, "pad_token_id": None,
                      "add_bos_token": True},
        "source_metadata": {
            "general.name": {"type": "string", "value": "seed"},
            "k.u8": {"type": "u8", "value": 255}, "k.i64": {"type": "i64", "value": -5},
            "k.f32": {"type": "f32", "value": 0.1}, "k.bool": {"type": "bool", "value": True},
            "k.arr": {"type": "array", "element_type": "f32", "value": [1.5, 2]},
            "k.nested": {"type": "array", "element_type": "array",
                         "value": [{"element_type": "u16", "value": [1, 2]}, {"element_type": "string", "value": ["s"]}]},
        },
        "source_files": {"config.json": "{}"},
        "provenance": {"source": "seed", "source_format": "gguf", "sha256": "0" * 64, "tool": "make_seeds.py",
                       "conversion": "import"},
    }
    tensors = [("token_embd.weight", "F32", [len(tokens), 64]), ("output_norm.weight", "F32", [64]),
               ("blk.0.attn_q.weight", "Q8_0", [64, 64]), ("blk.0.ffn_down.weight", "Q4_K", [1, 256]),
               ("blk.0.attn_k.weight", "F16", [32, 64]), ("blk.0.attn_v.weight", "BF16", [32, 64])]
    write_apr(path, metadata, tensors)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out")
    parser.add_argument("--apr", help="the apr program, to make APR seeds with `apr import`")
    args = parser.parse_args()
    for sub in ("gguf", "safetensors", "apr"):
        os.makedirs(os.path.join(args.out, sub), exist_ok=True)
    g = lambda name: os.path.join(args.out, "gguf", name)
    tiny_model_gguf(g("qwen2-f32.gguf"))
    tiny_model_gguf(g("qwen2-q4_k.gguf"), weight_type="Q4_K", hidden=256)
    tiny_model_gguf(g("llama-q8_0.gguf"), arch="llama", weight_type="Q8_0",
                    extra=[("llama.attention.key_length", U32, 8), ("llama.vocab_size", U32, 16)])
    every_type_gguf(g("every-type.gguf"))
    s = lambda name: os.path.join(args.out, "safetensors", name)
    write_safetensors(s("three-dtypes.safetensors"),
                      [("model.embed_tokens.weight", "BF16", [4, 8]), ("model.norm.weight", "F32", [8]),
                       ("lm_head.weight", "F16", [4, 8])], {"format": "pt"})
    write_safetensors(s("scalar-and-empty.safetensors"), [("s", "F32", []), ("e", "F16", [0, 3])])
    spec_apr(os.path.join(args.out, "apr", "spec.apr"))
    if args.apr:
        for name in ("qwen2-f32", "qwen2-q4_k", "llama-q8_0"):
            subprocess.run([args.apr, "import", g(name + ".gguf"), "--output",
                            os.path.join(args.out, "apr", name + ".apr"), "--force"], check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
