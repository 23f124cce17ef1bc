// Kernels of the native training step (app/learning/native/net-step.ts) that the tfjs kernels
// have no use for (see train_step.cc).
#pragma once
#include <cstdint>

namespace osteon {

// reluBiasGrad (fused.h) in place: g = g * (y > 0) and, when dbias is not null, dbias[j] = the
// sum over rows of the masked g[row, j]; the same arithmetic in the same order, so the same bits.
void reluBiasGradInPlace(int64_t rows, int64_t cols, const float* y, float* g, float* dbias);

}  // namespace osteon
