// Whole-volume inference: sliding-window outputs blended into a slab of the volume, the
// head's activation fused in (see accumulate.cc and app/learning/window-accumulate.ts).
#pragma once
#include <cstdint>

namespace osteon {

// How a window's C output values become S structure probabilities (app/learning/predict.ts):
//   0 probabilities already (S = C)       1 sigmoid (S = C)
//   2 joint: σ(x0), softmax(x1..)[1..]     (S = C - 1)
//   3 softmax with a whole: 1 - p0, p1..   (S = C)
//   4 softmax without a whole: p1..        (S = C - 1)
enum HeadMode { kProbs = 0, kSigmoid = 1, kJoint = 2, kSoftmaxWhole = 3, kSoftmaxParts = 4 };
constexpr int kMaxChannels = 64;

// Block geometry of one accumulate call: block size and the slab axis of each block axis, the
// slab's dims (volume axis 0 fastest), and per window its start (slab coordinates) and flips.
struct AccumGeom {
  int c, s, head;
  int s0, s1, s2;
  int a0, a1, a2;
  int d0, d1, d2;
  int windows;
};
constexpr int kAccumGeomLen = 13;
constexpr int kWindowLen = 6;  // start0, start1, start2, flip0, flip1, flip2
static_assert(sizeof(AccumGeom) == kAccumGeomLen * sizeof(int), "AccumGeom must be packed ints");

int structuresOf(int head, int c);

// acc[k][v] += w[b] * prob_k(values of window j at block voxel b, mirrored by its flips), and
// wsum[v] += w[b] (w = 1 without weights). Windows run in order (they overlap); each window's
// voxels are split between threads. Sums in double then rounded, as the JS fallback does.
void accumulateWindows(const AccumGeom& g, const int32_t* windows, const float* values, const float* weights, float* const* acc, float* wsum);

// acc[k][v] /= wsum[v] where wsum[v] is neither 0 nor 1.
void normalizeWeights(int s, int64_t n, float* const* acc, const float* wsum);

// predict.ts binarizeInto on every thread, the same rule and the same double arithmetic (JS
// numbers): kind 0 sigmoid, 1 joint, 2 softmax. Sigmoid channels p >= t; parts by the first maximum
// over 1 - Σ parts and the parts; a joint head's whole by its threshold, a softmax head's whole as
// the union of its parts. Writes m[k][0, n) for np structures (m already offset by the caller).
void thresholdSlab(int kind, bool hasWhole, int np, const float* const* p, const double* t, uint8_t* const* m, int64_t n);

}  // namespace osteon
