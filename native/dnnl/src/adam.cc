// Adam over every parameter in one call, split over OpenMP threads in blocks that cross
// tensor boundaries (a U-Net has ~50 tensors from 8 to ~300k values). Float32 throughout and in
// the order tfjs's AdamOptimizer applies its ops, without fused multiply-adds, so the result
// matches tf.train.adam to rounding.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "loss_adam.h"

namespace osteon {
namespace {

constexpr int64_t kBlock = 1 << 14;

// SIMD clones (sqrt, division and the rest are correctly rounded in any lane width, and no FMAs:
// the same bits as the scalar loop).
__attribute__((target_clones("avx512f", "avx2", "default"), optimize("fp-contract=off"))) void adamRange(
    const float* __restrict w, const float* __restrict g, float* __restrict m, float* __restrict v, float* __restrict wOut, int64_t n, const float* k) {
  const float lr = k[0], b1 = k[1], b2 = k[2], eps = k[3], omb1 = k[4], omb2 = k[5], omab1 = k[6], omab2 = k[7];
  const float negLr = -lr;
#pragma omp simd
  for (int64_t i = 0; i < n; i++) {
    const float gi = g[i];
    const float mt = m[i] * b1 + gi * omb1;
    const float vt = v[i] * b2 + (gi * gi) * omb2;
    const float mh = mt / omab1, vh = vt / omab2;
    m[i] = mt;
    v[i] = vt;
    wOut[i] = (mh / (std::sqrt(vh) + eps)) * negLr + w[i];
  }
}

}  // namespace

void adamFused(int tensors, const int64_t* sizes, const float* const* w, const float* const* g, float* const* m, float* const* v,
               float* const* wOut, const float* k) {
  struct Job { int t; int64_t at, n; };
  std::vector<Job> jobs;
  for (int t = 0; t < tensors; t++)
    for (int64_t at = 0; at < sizes[t]; at += kBlock) jobs.push_back({t, at, std::min(kBlock, sizes[t] - at)});
  const int64_t nj = int64_t(jobs.size());
#pragma omp parallel for schedule(static)
  for (int64_t j = 0; j < nj; j++) {
    const Job& b = jobs[j];
    adamRange(w[b.t] + b.at, g[b.t] + b.at, m[b.t] + b.at, v[b.t] + b.at, wOut[b.t] + b.at, b.n, k);
  }
}

}  // namespace osteon
