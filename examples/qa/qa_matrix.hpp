// The format x backend matrix, driven in-process through the library:
// class A (quantized): A1 CPU GGUF, A2 CPU APR, A3 GPU GGUF, A4 GPU APR, 15
// points each; class B (full precision): B1 CPU SafeTensors, B2 CPU APR F32,
// B3 GPU SafeTensors, B4 GPU APR F32, 10 points each.
//
// Points of a cell (class A / class B):
//   1 / 1  the model loads and runs on the cell's backend (Model::device())
//   7 / 4  the answers are right (partial credit: points x right / cases)
//   5 / 4  every case's tokens equal those of every other cell of the class
//          that ran (the first difference is named)
//   2 / 1  prompt and generation tok/s measured and reported (> 0)
#pragma once

#include <string>
#include <vector>

#include "apr/device.hpp"
#include "qa_options.hpp"
#include "qa_report.hpp"
#include "qa_sources.hpp"

namespace apr::qa {

struct GpuState {
    DeviceStatus status = DeviceStatus::absent;
    std::string why;  // when not ready
};
GpuState probe_gpu();

// Runs the selected cells of both classes and scores them; returns them in
// table order (A1..A4, B1..B4).
std::vector<Cell> run_matrix(const QaOptions& o, const Sources& sources, const GpuState& gpu);

}  // namespace apr::qa
