#!/usr/bin/env python3
"""libapr from Python with ctypes only (no compiled extension).

    APR_LIBRARY=build/libapr.so.0 python3 examples/python/apr_ctypes.py MODEL.gguf

Loads the model, streams the answer to "What is 2+2?", counts what the tracing
observer sees, handles a bad path through the error API, and frees the model
before its session (sessions keep their model alive, so a garbage collector
may free handles in any order).
"""
import ctypes
import os
import sys
from ctypes import (CFUNCTYPE, POINTER, Structure, c_char, c_char_p, c_double, c_float, c_int32, c_int64,
                    c_size_t, c_uint64, c_void_p, byref, sizeof, string_at)

lib = ctypes.CDLL(os.environ.get("APR_LIBRARY", "libapr.so.0"))

APR_OK, APR_ERR_NOT_FOUND = 0, 8
APR_OP_MATMUL = 2
APR_FINISH_STOP = 0

# ---- the structs, field for field as in apr.h ---------------------------------
PROGRESS = CFUNCTYPE(c_int32, c_float, c_void_p)
ABORT = CFUNCTYPE(c_int32, c_void_p)
TOKEN = CFUNCTYPE(c_int32, c_int32, POINTER(c_char), c_size_t, c_int32, c_void_p)


class ModelParams(Structure):
    _fields_ = [("struct_size", c_size_t), ("n_threads", c_int32), ("progress_callback", PROGRESS),
                ("progress_user_data", c_void_p), ("device", c_int32)]


class TokenLogprob(Structure):
    _fields_ = [("id", c_int32), ("logprob", c_float)]


class TokenEvent(Structure):
    _fields_ = [("struct_size", c_size_t), ("token", c_int32), ("is_end", c_int32), ("text", POINTER(c_char)),
                ("text_len", c_size_t), ("logprob", c_float), ("top_count", c_size_t),
                ("top", POINTER(TokenLogprob))]


EVENT = CFUNCTYPE(c_int32, POINTER(TokenEvent), c_void_p)


class GenerateParams(Structure):
    _fields_ = [("struct_size", c_size_t), ("max_tokens", c_int64), ("temperature", c_double), ("top_k", c_int64),
                ("top_p", c_double), ("min_p", c_double), ("repeat_penalty", c_double),
                ("presence_penalty", c_double), ("frequency_penalty", c_double), ("penalty_last_n", c_int64),
                ("seed", c_uint64), ("stop_strings", POINTER(c_char_p)), ("stop_string_count", c_size_t),
                ("parse_special", c_int32), ("cancel", POINTER(c_int32)), ("stop_token_ids", POINTER(c_int32)),
                ("stop_token_id_count", c_size_t), ("logprobs", c_int64), ("abort_callback", ABORT),
                ("abort_user_data", c_void_p), ("event_callback", EVENT), ("event_user_data", c_void_p)]


class GenerateResult(Structure):
    _fields_ = [("struct_size", c_size_t), ("finish_reason", c_int32), ("prompt_tokens", c_int64),
                ("completion_tokens", c_int64), ("prompt_ms", c_double), ("generation_ms", c_double),
                ("text", POINTER(c_char)), ("tokens", POINTER(c_int32)), ("text_len", c_size_t),
                ("logprobs_k", c_int64), ("logprobs", POINTER(c_float)), ("top_logprobs", POINTER(TokenLogprob))]


class OpEvent(Structure):
    _fields_ = [("struct_size", c_size_t), ("op", c_int32), ("layer", c_int32), ("name", POINTER(c_char)),
                ("name_len", c_size_t), ("output", POINTER(c_float)), ("rows", c_int64), ("cols", c_int64)]


ON_OP = CFUNCTYPE(None, POINTER(OpEvent), c_void_p)
ON_LAYER = CFUNCTYPE(None, c_void_p, c_void_p)


class Observer(Structure):
    _fields_ = [("struct_size", c_size_t), ("on_op", ON_OP), ("on_layer", ON_LAYER), ("user_data", c_void_p)]


class ChatMessage(Structure):
    _fields_ = [("role", c_char_p), ("content", c_char_p), ("tool_calls_json", c_char_p)]


# ---- signatures: every status is int32_t -----------------------------------------
def sig(name, restype, *argtypes):
    f = getattr(lib, name)
    f.restype, f.argtypes = restype, list(argtypes)
    return f


sig("apr_last_error", c_char_p)
sig("apr_status_str", c_char_p, c_int32)
sig("apr_version_str", c_char_p)
sig("apr_model_default_params", None, POINTER(ModelParams))
sig("apr_model_load", c_int32, c_char_p, POINTER(ModelParams), POINTER(c_void_p))
sig("apr_model_free", None, c_void_p)
sig("apr_model_get_chat_template", c_int32, c_void_p, POINTER(c_void_p))
sig("apr_chat_template_render", c_int32, c_void_p, POINTER(ChatMessage), c_size_t, c_int32, c_char_p,
    POINTER(POINTER(c_char)), POINTER(c_size_t))
sig("apr_chat_template_free", None, c_void_p)
sig("apr_string_free", None, POINTER(c_char))
sig("apr_session_create", c_int32, c_void_p, c_void_p, POINTER(c_void_p))
sig("apr_session_free", None, c_void_p)
sig("apr_session_set_observer", c_int32, c_void_p, POINTER(Observer))
sig("apr_generate_default_params", None, POINTER(GenerateParams))
sig("apr_generate", c_int32, c_void_p, c_char_p, POINTER(GenerateParams), TOKEN, c_void_p, POINTER(GenerateResult))
sig("apr_generate_result_clear", None, POINTER(GenerateResult))


class AprError(Exception):
    def __init__(self, status):
        self.status = status
        super().__init__(f"{lib.apr_status_str(status).decode()}: {lib.apr_last_error().decode()}")


def check(status):
    if status != APR_OK:
        raise AprError(status)


def main(model_path):
    print("libapr", lib.apr_version_str().decode())

    # A bad path: a status and a message naming it.
    model = c_void_p()
    try:
        check(lib.apr_model_load(b"/no/such/model.gguf", None, byref(model)))
        raise SystemExit("a missing model loaded")
    except AprError as e:
        print("bad path:", e)
        assert e.status == APR_ERR_NOT_FOUND and not model.value and "/no/such/model.gguf" in str(e)

    params = ModelParams(struct_size=sizeof(ModelParams))
    lib.apr_model_default_params(byref(params))
    params.n_threads = 2
    progress = []
    params.progress_callback = PROGRESS(lambda p, _: progress.append(p) or 1)
    check(lib.apr_model_load(model_path.encode(), byref(params), byref(model)))
    assert progress and progress[-1] == 1.0, progress

    tmpl = c_void_p()
    check(lib.apr_model_get_chat_template(model, byref(tmpl)))
    messages = (ChatMessage * 1)(ChatMessage(b"user", b"What is 2+2? Answer with just the number.", None))
    prompt, prompt_len = POINTER(c_char)(), c_size_t()
    check(lib.apr_chat_template_render(tmpl, messages, 1, 1, None, byref(prompt), byref(prompt_len)))
    prompt_text = string_at(prompt, prompt_len.value)
    lib.apr_string_free(prompt)
    lib.apr_chat_template_free(tmpl)

    session = c_void_p()
    check(lib.apr_session_create(model, None, byref(session)))
    # Free the model first: the session holds its own reference.
    lib.apr_model_free(model)

    matmuls = [0]

    def on_op(event, _):
        if event.contents.op == APR_OP_MATMUL:
            matmuls[0] += 1

    observer = Observer(struct_size=sizeof(Observer), on_op=ON_OP(on_op), user_data=None)
    check(lib.apr_session_set_observer(session, byref(observer)))

    streamed = []

    def on_token(token, text, text_len, is_end, _):
        piece = string_at(text, text_len).decode("utf-8")  # text_len bytes, not NUL-terminated
        streamed.append(piece)
        sys.stdout.write(piece)
        return 1

    gen = GenerateParams(struct_size=sizeof(GenerateParams))
    lib.apr_generate_default_params(byref(gen))
    gen.max_tokens = 16
    result = GenerateResult(struct_size=sizeof(GenerateResult))
    callback = TOKEN(on_token)  # kept referenced for the call
    sys.stdout.write("answer: ")
    check(lib.apr_generate(session, prompt_text, byref(gen), callback, None, byref(result)))
    print()
    text = string_at(result.text, result.text_len).decode()
    print(f"text: {text!r}, finish_reason {result.finish_reason}, {matmuls[0]} matmuls observed")
    assert text == "4" and "".join(streamed) == "4" and result.finish_reason == APR_FINISH_STOP, text
    assert matmuls[0] > 0
    lib.apr_generate_result_clear(byref(result))
    lib.apr_session_free(session)  # the model goes with its last session
    print("ok")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..", "models", "nano",
                                                             "nano-q4_k_m.gguf"))
