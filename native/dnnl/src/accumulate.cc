// Whole-volume inference: blending sliding-window outputs into the volume was a JS loop
// per structure (data/block.ts accumulateBlock) after a wasm softmax/sigmoid, about a third of a
// 512×512×300 prediction. Here one pass per window applies the head's activation to the logits,
// mirrors flipped (TTA) windows back, weights and adds, on every OpenMP thread.
#include "accumulate.h"

#include <omp.h>

#include <cmath>
#include <stdexcept>
#include <string>

namespace osteon {

int structuresOf(int head, int c) {
  switch (head) {
    case kProbs:
    case kSigmoid:
    case kSoftmaxWhole: return c;
    case kJoint:
    case kSoftmaxParts: return c - 1;
    default: throw std::runtime_error("accumulate: unknown head mode " + std::to_string(head));
  }
}

namespace {

inline float sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }

// Softmax of x[0..n) into p (max subtracted first, as tfjs does).
inline void softmax(const float* x, int n, float* p) {
  float m = x[0];
  for (int i = 1; i < n; i++) m = x[i] > m ? x[i] : m;
  float sum = 0;
  for (int i = 0; i < n; i++) sum += (p[i] = std::exp(x[i] - m));
  for (int i = 0; i < n; i++) p[i] /= sum;
}

// The S probabilities of one voxel's C values.
inline void probsOf(int head, int c, const float* x, float* out) {
  float p[kMaxChannels];
  switch (head) {
    case kProbs:
      for (int k = 0; k < c; k++) out[k] = x[k];
      break;
    case kSigmoid:
      for (int k = 0; k < c; k++) out[k] = sigmoid(x[k]);
      break;
    case kJoint:
      out[0] = sigmoid(x[0]);
      softmax(x + 1, c - 1, p);
      for (int k = 1; k < c - 1; k++) out[k] = p[k];
      break;
    case kSoftmaxWhole:
      softmax(x, c, p);
      out[0] = 1.0f - p[0];
      for (int k = 1; k < c; k++) out[k] = p[k];
      break;
    default:  // kSoftmaxParts
      softmax(x, c, p);
      for (int k = 1; k < c; k++) out[k - 1] = p[k];
  }
}

}  // namespace

void accumulateWindows(const AccumGeom& g, const int32_t* windows, const float* values, const float* weights, float* const* acc, float* wsum) {
  const int S = structuresOf(g.head, g.c);
  if (g.c < 1 || g.c > kMaxChannels || S < 1) throw std::runtime_error("accumulate: channels out of range");
  const int64_t dims[3] = {g.d0, g.d1, g.d2};
  const int64_t strides[3] = {1, g.d0, int64_t(g.d0) * g.d1};
  const int ax[3] = {g.a0, g.a1, g.a2};
  const int sz[3] = {g.s0, g.s1, g.s2};
  const int64_t blockVox = int64_t(g.s0) * g.s1 * g.s2;
  for (int j = 0; j < g.windows; j++) {
    const int32_t* w = windows + int64_t(j) * kWindowLen;
    const float* block = values + int64_t(j) * blockVox * g.c;
    // The block range [lo, hi) of each axis that lies inside the slab.
    int lo[3], hi[3];
    for (int b = 0; b < 3; b++) {
      const int64_t st = w[b];
      lo[b] = int(st < 0 ? -st : 0);
      const int64_t end = dims[ax[b]] - st;
      hi[b] = int(end < sz[b] ? (end < 0 ? 0 : end) : sz[b]);
    }
    if (lo[0] >= hi[0] || lo[1] >= hi[1] || lo[2] >= hi[2]) continue;
    const int64_t vox = int64_t(hi[0] - lo[0]) * (hi[1] - lo[1]) * (hi[2] - lo[2]);
    // Parallel over block axis 0, axes 1 and 2 nested inside: no per-voxel division (a 2D slice has
    // one voxel per (x0, x1) row, where r / rows1 and r % rows1 cost more than the blend itself).
#pragma omp parallel for schedule(dynamic, 1) if (vox > 16384)
    for (int x0 = lo[0]; x0 < hi[0]; x0++)
    for (int x1 = lo[1]; x1 < hi[1]; x1++) {
      const int f0 = w[3] ? g.s0 - 1 - x0 : x0, f1 = w[4] ? g.s1 - 1 - x1 : x1;
      const int64_t vrow = (w[0] + x0) * strides[ax[0]] + (w[1] + x1) * strides[ax[1]];
      float p[kMaxChannels];
      for (int x2 = lo[2]; x2 < hi[2]; x2++) {
        const int f2 = w[5] ? g.s2 - 1 - x2 : x2;
        const int64_t b = (int64_t(x0) * g.s1 + x1) * g.s2 + x2;
        const int64_t src = (int64_t(f0) * g.s1 + f1) * g.s2 + f2;
        const int64_t v = vrow + (w[2] + x2) * strides[ax[2]];
        const double wt = weights ? weights[b] : 1.0;
        probsOf(g.head, g.c, block + src * g.c, p);
        for (int k = 0; k < S; k++) acc[k][v] = float(double(acc[k][v]) + wt * double(p[k]));
        if (wsum) wsum[v] = float(double(wsum[v]) + wt);
      }
    }
  }
}

void normalizeWeights(int s, int64_t n, float* const* acc, const float* wsum) {
#pragma omp parallel for schedule(dynamic, 16384) if (n > 65536)
  for (int64_t v = 0; v < n; v++) {
    const float w = wsum[v];
    if (w > 0 && w != 1)
      for (int k = 0; k < s; k++) acc[k][v] /= w;
  }
}

void thresholdSlab(int kind, bool hasWhole, int np, const float* const* p, const double* t, uint8_t* const* m, int64_t n) {
  const int first = hasWhole ? 1 : 0, K = np - first;
#pragma omp parallel for schedule(dynamic, 8192)
  for (int64_t v = 0; v < n; v++) {
    if (kind == 0) {
      for (int k = 0; k < np; k++) m[k][v] = double(p[k][v]) >= t[k] ? 1 : 0;
      continue;
    }
    double bg = 1, bestP = -1;
    int best = -1;
    for (int k = 0; k < K; k++) {
      const double q = p[first + k][v];
      bg -= q;
      if (q > bestP) bestP = q, best = k;
      m[first + k][v] = 0;
    }
    if (bestP > bg) m[first + best][v] = 1;
    if (hasWhole) m[0][v] = kind == 1 ? (double(p[0][v]) >= t[0] ? 1 : 0) : (bestP > bg ? 1 : 0);
  }
}

}  // namespace osteon
