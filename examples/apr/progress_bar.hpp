// A one-line progress bar on stderr for long conversions, drawn only when
// stderr is a terminal (so logs and pipes stay clean):
//   import  [#############...........]  52%   5.4/10.4 MiB  blk.2.ffn_up.weight
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "apr/convert.hpp"

namespace apr::cli {

class ProgressBar {
public:
    explicit ProgressBar(std::string label);
    ~ProgressBar();  // ends the line if one was drawn
    ProgressBar(const ProgressBar&) = delete;
    ProgressBar& operator=(const ProgressBar&) = delete;

    void update(size_t done, size_t total, std::string_view item);
    // A callback for the library's conversions that draws on this bar.
    ConvertProgress callback();

private:
    std::string label_;
    bool enabled_;
    bool drawn_ = false;
    int last_permille_ = -1;
};

}  // namespace apr::cli
