// Fused element-wise kernels in C++/OpenMP. tfjs runs the backward of a conv + bias + ReLU as
// Step(y), Multiply(dy, step) and Sum(over N and space): three passes over the activation and two
// temporaries; reluBiasGrad does it in one, on every thread.
#include "fused.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace osteon {

void reluBiasGrad(int64_t rows, int64_t cols, const float* y, const float* dy, float* dyOut, float* dbias) {
  if (!dbias) {
    const int64_t n = rows * cols;
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++) dyOut[i] = y[i] > 0.f ? dy[i] : 0.f;
    return;
  }
  // Per-thread sums: float over blocks of kBlock rows (vectorises), blocks added in double
  // (accurate over millions of rows); threads added in thread order (deterministic for a fixed
  // thread count).
  constexpr int64_t kBlock = 64;
  const int threads = omp_get_max_threads();
  const int64_t blocks = (rows + kBlock - 1) / kBlock;
  std::vector<double> part(size_t(threads) * cols, 0.0);
#pragma omp parallel num_threads(threads)
  {
    double* acc = part.data() + size_t(omp_get_thread_num()) * cols;
    std::vector<float> blk(cols);
#pragma omp for schedule(static)
    for (int64_t b = 0; b < blocks; b++) {
      std::fill(blk.begin(), blk.end(), 0.f);
      const int64_t end = std::min(rows, (b + 1) * kBlock);
      for (int64_t r = b * kBlock; r < end; r++) {
        const float* yr = y + r * cols;
        const float* gr = dy + r * cols;
        float* out = dyOut + r * cols;
        float* s = blk.data();
#pragma omp simd
        for (int64_t j = 0; j < cols; j++) {
          const float v = yr[j] > 0.f ? gr[j] : 0.f;
          out[j] = v;
          s[j] += v;
        }
      }
      for (int64_t j = 0; j < cols; j++) acc[j] += blk[j];
    }
  }
  for (int64_t j = 0; j < cols; j++) {
    double s = 0;
    for (int t = 0; t < threads; t++) s += part[size_t(t) * cols + j];
    dbias[j] = float(s);
  }
}

void softmaxRows(int64_t rows, int64_t cols, const float* x, float* y) {
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; r++) {
    const float* xr = x + r * cols;
    float* yr = y + r * cols;
    float m = xr[0];
    for (int64_t j = 1; j < cols; j++) m = std::max(m, xr[j]);
    float s = 0.f;
    for (int64_t j = 0; j < cols; j++) {
      const float e = std::exp(xr[j] - m);
      yr[j] = e;
      s += e;
    }
    const float inv = 1.f / s;
    for (int64_t j = 0; j < cols; j++) yr[j] *= inv;
  }
}

}  // namespace osteon
