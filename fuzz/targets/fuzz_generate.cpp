// libFuzzer target: sessions, sampling and generation on the vendored nano
// model with arbitrary token ids, sampling parameters, stop strings and
// context sizes. Any input may be rejected with apr::Error; nothing else may
// happen (no crash, no sanitizer report, no other exception).
// The model is $APR_FUZZ_MODEL, else models/nano/nano-q4_k_m.gguf from the
// current folder (run the fuzzer from the source root).
#include <cstddef>
#include <cstdlib>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "apr/error.hpp"
#include "apr/generate.hpp"
#include "apr/model.hpp"
#include "apr/session.hpp"

namespace {

struct Reader {
    const uint8_t* data;
    size_t size;
    template <typename T>
    T take() {
        T value{};
        const size_t n = size < sizeof(T) ? size : sizeof(T);
        if (n > 0) std::memcpy(&value, data, n);
        data += n;
        size -= n;
        return value;
    }
};

const apr::Model& model() {
    static const std::unique_ptr<apr::Model> m = [] {
        const char* path = std::getenv("APR_FUZZ_MODEL");
        return apr::Model::load(path ? path : "models/nano/nano-q4_k_m.gguf", apr::ModelParams{apr::Device::cpu, 1});
    }();
    return *m;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    Reader in{data, size};
    apr::SessionParams sp;
    sp.context_length = in.take<uint8_t>() % 64;  // 0 = the model's default
    sp.batch_size = 1 + in.take<uint8_t>() % 16;
    sp.kv_cache_type = in.take<uint8_t>() & 1 ? apr::KVCacheType::f32 : apr::KVCacheType::f16;
    apr::GenerateParams gp;
    gp.max_tokens = in.take<uint8_t>() % 8;
    gp.logprobs = in.take<uint8_t>() % 4;
    gp.sampling.temperature = in.take<float>();
    gp.sampling.top_k = in.take<int16_t>();
    gp.sampling.top_p = in.take<float>();
    gp.sampling.min_p = in.take<float>();
    gp.sampling.repeat_penalty = in.take<float>();
    gp.sampling.presence_penalty = in.take<float>();
    gp.sampling.frequency_penalty = in.take<float>();
    gp.sampling.penalty_last_n = in.take<int8_t>();
    gp.sampling.seed = in.take<uint64_t>();
    const uint8_t stop_len = in.take<uint8_t>() % 8;
    std::string stop;
    for (uint8_t i = 0; i < stop_len; ++i) stop += static_cast<char>(in.take<uint8_t>());
    if (!stop.empty()) gp.stop_strings.push_back(stop);
    std::vector<int32_t> prompt;
    while (in.size >= 2 && prompt.size() < 48) prompt.push_back(in.take<int16_t>());
    try {
        apr::Session session(model(), sp);
        (void)apr::generate(session, prompt, gp, [](const apr::GeneratedToken&) { return true; });
    } catch (const apr::Error&) {
    }
    return 0;
}
