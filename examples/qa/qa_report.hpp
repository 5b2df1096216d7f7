// The QA results: cells with their points, PASS/FAIL/SKIP and reason, the
// parity lines, the table printed at the end and the --json document.
//
// A cell is scored by its checks, each worth some points: the cell PASSes
// when every check holds (all its points), FAILs when one does not, and is
// SKIPped (0 points, never a pass) when it cannot run here (no GPU, no
// full-precision source). docs/qa.md lists every cell's checks.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace apr::qa {

enum class Status { pass, fail, skip };
std::string_view status_name(Status s);  // "PASS", "FAIL", "SKIP"

struct Check {
    std::string what;   // "7/7 answers right"
    int points = 0;     // earned
    int max_points = 0;
    bool ok = false;
    std::string detail; // what was seen, when it failed
};

struct Cell {
    std::string id;       // "A1", "T3"
    std::string group;    // "A", "B", "T"
    std::string title;    // "CPU GGUF", "run --trace-level layer"
    std::string backend;  // "cpu", "cuda"
    std::string format;   // "gguf", "apr", "safetensors"
    std::string source;   // the model it ran
    int max_points = 0;
    Status status = Status::skip;
    std::string skip_reason;
    std::vector<Check> checks;
    // Matrix cells: speeds over the cases, the answers.
    std::optional<double> prompt_tok_s, gen_tok_s;
    std::vector<std::string> answers;
    double seconds = 0;

    // Adds a check of `points`; earned when `ok`.
    void check(bool ok, int points, std::string what, std::string detail = {});
    // A check with partial credit: `earned` of `points` (ok only when all).
    void check_partial(int earned, int points, std::string what, std::string detail = {});
    int points() const;
    // PASS when every check held and the points add up to max_points; FAIL
    // otherwise (a cell with no checks fails: nothing was shown).
    void finish();
    void skip(std::string why);
    void fail(std::string why);  // a cell that could not run at all (0 points)
    std::string reason() const;
};

struct ParityLine {
    std::string name;    // "correctness", "performance", "memory"
    Status status = Status::skip;
    std::string reason;
};

struct Conversion {
    std::string source, output, what;
    double seconds = 0;
    bool ok = false;
    std::string error;
};

struct Results {
    std::string model, hf_model, machine;
    std::vector<Conversion> conversions;
    std::vector<Cell> cells;
    std::vector<ParityLine> parity;
    std::string parity_engine;  // what was compared with (or looked for)

    int points(const std::string& group) const;
    int max_points(const std::string& group) const;
    int count(Status s) const;
    bool any_failed() const;
};

// The table, the parity lines and "Class A n/60, Class B n/40, Tracing n/45".
std::string format_table(const Results& r);
std::string format_json(const Results& r);

}  // namespace apr::qa
