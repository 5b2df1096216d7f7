// A Catch2 reporter that prints one TAP line per test case (Catch2's own TAP
// reporter prints one per assertion). Included by catch_main.cpp so the
// registration is linked into every test program. Meson runs every test program with
// protocol 'tap', so its summary, and .ci/run's "N passed, N failed", count
// test cases. Failed assertions are printed as TAP comments.
#pragma once

#include <catch2/catch.hpp>

#include <sstream>
#include <string>

#include "support/prerequisites.hpp"

namespace {

class TapCasesReporter : public Catch::StreamingReporterBase<TapCasesReporter> {
public:
    using StreamingReporterBase::StreamingReporterBase;

    static std::string getDescription() { return "One TAP line per test case"; }

    void assertionStarting(Catch::AssertionInfo const&) override {}

    bool assertionEnded(Catch::AssertionStats const& stats) override {
        const auto& result = stats.assertionResult;
        if (result.isOk()) return true;
        std::ostringstream out;
        out << result.getSourceInfo().file << ":" << result.getSourceInfo().line << ": ";
        if (result.hasExpression()) out << result.getExpressionInMacro() << " with expansion " << result.getExpandedExpression();
        if (result.hasMessage()) out << " " << result.getMessage();
        for (const auto& info : stats.infoMessages) out << " [" << info.message << "]";
        failures_ += comment(out.str());
        return true;
    }

    void testCaseEnded(Catch::TestCaseStats const& stats) override {
        ++count_;
        const bool ok = stats.totals.assertions.failed == 0 && stats.totals.testCases.failed == 0;
        // A case that skipped itself (APR_SKIP_CASE) is "ok ... # SKIP why",
        // which meson and scripts/count_tests.py count as skipped.
        std::string& skip = apr::test::current_skip_reason();
        stream << (ok ? "ok " : "not ok ") << count_ << " - " << stats.testInfo.name;
        if (ok && !skip.empty()) stream << " # SKIP " << one_line(skip);
        stream << "\n" << failures_;
        skip.clear();
        if (!stats.stdOut.empty()) stream << comment(stats.stdOut);
        if (!stats.stdErr.empty()) stream << comment(stats.stdErr);
        stream.flush();
        failures_.clear();
        StreamingReporterBase::testCaseEnded(stats);
    }

    void testRunEnded(Catch::TestRunStats const& stats) override {
        stream << "1.." << count_ << std::endl;
        StreamingReporterBase::testRunEnded(stats);
    }

private:
    static std::string one_line(std::string text) {
        for (char& c : text)
            if (c == '\n' || c == '#') c = ' ';
        return text;
    }

    static std::string comment(const std::string& text) {
        std::string out = "# ";
        for (char c : text) {
            out += c;
            if (c == '\n') out += "# ";
        }
        return out + "\n";
    }

    int count_ = 0;
    std::string failures_;
};

}  // namespace

CATCH_REGISTER_REPORTER("tapcases", TapCasesReporter)
