// APR -> GGUF in llama.cpp itself: the nano HF folder is imported to APR
// (f32) and exported to GGUF, then llama.cpp's llama-simple (greedy) runs
// the reference chat prompts on it; the text it generates must begin with what
// llama.cpp produced from the f16 fixture (reference_llama_cpp.json). A TAP program
// of its own, so that without a llama.cpp build it reports itself skipped
// ("1..0 # SKIP") instead of passing: set APR_LLAMA_SIMPLE to the binary
// (e.g. /work/refs/llama.cpp/build/bin/llama-simple).
#include <cstdio>
#include <cstdlib>
#include <string>

#include "../formats/temp_dir.hpp"
#include "../model/reference_cases.hpp"
#include "apr/convert.hpp"

int main() {
    using namespace apr;
    const char* simple = std::getenv("APR_LLAMA_SIMPLE");
    if (!simple || !*simple) {
        std::printf("1..0 # SKIP APR_LLAMA_SIMPLE is not set (path of llama.cpp's llama-simple)\n");
        return 0;
    }
    if (!test::have_fixtures()) {
        std::printf("1..0 # SKIP shared fixtures not found at %s\n", test::fixtures_dir().string().c_str());
        return 0;
    }
    test::TempDir dir;
    import_model(test::fixtures_dir() / "nano", dir / "nano.apr");
    export_model(dir / "nano.apr", dir / "nano.gguf", ExportParams{});
    const auto hf = test::load_hf_cases();
    const auto ref = test::load_llama_cpp_cases().at("nano-f16.gguf");
    int n = 0, failed = 0;
    std::string lines;
    for (size_t i = 0; i < hf.size(); ++i) {
        if (hf[i].kind != "chat") continue;
        ++n;
        test::write_file(dir / "prompt.txt", ref[i].prompt_text);
        const std::string out_file = (dir / "out.txt").string();
        // llama-simple takes the prompt as its last argument; pass it through a file to keep quoting simple.
        const std::string command = std::string(simple) + " -m " + (dir / "nano.gguf").string() + " -n 32 \"$(cat " +
                                    (dir / "prompt.txt").string() + ")\" > " + out_file + " 2>/dev/null";
        const int rc = std::system(command.c_str());
        const std::string out = test::read_text_file(out_file);
        // llama-simple echoes the prompt, then prints what it generated: the
        // generated part must begin with llama.cpp's answer on the f16 fixture.
        const bool echoed = out.compare(0, ref[i].prompt_text.size(), ref[i].prompt_text) == 0;
        const std::string generated = echoed ? out.substr(ref[i].prompt_text.size()) : out;
        const bool ok = rc == 0 && echoed && !ref[i].text.empty() &&
                        generated.compare(0, ref[i].text.size(), ref[i].text) == 0;
        failed += ok ? 0 : 1;
        lines += (ok ? "ok " : "not ok ") + std::to_string(n) + " - llama.cpp on the exported GGUF, case " +
                 std::to_string(i) + "\n";
        if (!ok)
            lines += "# exit status " + std::to_string(rc) + (echoed ? "" : ", prompt not echoed") +
                     "\n# expected the answer to begin with: " + ref[i].text + "\n# got: " + generated + "\n";
    }
    std::printf("%s1..%d\n", lines.c_str(), n);
    return failed == 0 ? 0 : 1;
}
