// apr.h compiles as C++ and works from C++ code: the enum values are
// integer constants, statuses are int32_t, the structs are the C ones.
#include <cstdio>
#include <cstring>
#include <type_traits>

#include "apr.h"

static_assert(std::is_same_v<apr_status, int32_t>, "apr_status is int32_t");
static_assert(std::is_same_v<decltype(apr_model_load(nullptr, nullptr, nullptr)), int32_t>, "statuses are int32_t");
static_assert(APR_ERR_INTERNAL == 9 && APR_FINISH_CANCELLED == 2 && APR_KV_Q8_0 == 3, "enum values");
static_assert(std::is_standard_layout_v<apr_generate_params> && std::is_trivially_copyable_v<apr_generate_result>,
              "plain C structs");

int main() {
    int n = 0;
    bool all = true;
    auto check = [&](bool ok, const char* what) {
        std::printf("%s %d - %s\n", ok ? "ok" : "not ok", ++n, what);
        all = all && ok;
    };
    apr_generate_params gp{};
    gp.struct_size = sizeof(gp);
    apr_generate_default_params(&gp);
    check(gp.max_tokens == 256 && gp.parse_special == 1, "defaults through the C ABI from C++");
    apr_model* model = nullptr;
    const apr_status st = apr_model_load("/no/such/model.gguf", nullptr, &model);
    check(st == APR_ERR_NOT_FOUND && model == nullptr && std::strstr(apr_last_error(), "/no/such") != nullptr,
          "a bad path is APR_ERR_NOT_FOUND with a message");
    std::printf("1..%d\n", n);
    return all ? 0 : 1;
}
