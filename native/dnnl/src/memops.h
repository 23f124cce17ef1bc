// Memory-bound kernels a U-Net training step spends its non-convolution time in (see memops.cc).
#pragma once
#include <cstdint>

namespace osteon {

// Max-pool window geometry, channels-last 3D form (2D: d = od = kd = sd = 1, pf = 0).
struct PoolGeom {
  int n, d, h, w, c, od, oh, ow, kd, kh, kw, sd, sh, sw, pf, pt, pl;
};
constexpr int kPoolGeomLen = 17;
static_assert(sizeof(PoolGeom) == kPoolGeomLen * sizeof(int), "PoolGeom must be packed ints");

void maxPoolGrad(const PoolGeom& g, const float* x, const float* dy, float* dx);

// Rows of `outer` rows: piece p holds `widths[p]` floats of each row of the whole.
void concatRows(int64_t outer, int pieces, const float* const* src, const int64_t* widths, float* dst);
void splitRows(int64_t outer, int pieces, const float* src, const int64_t* widths, float* const* dst);

// dst = src[begin : begin + size] of a row-major tensor of `rank` dims (tfjs Slice).
void sliceNd(int rank, const int64_t* inShape, const int64_t* begin, const int64_t* size, const float* src, float* dst);

// Element-wise a op b (op 0 add, 1 multiply) where b has `cols` values repeated over `rows` rows
// of a (cols = a's size when the shapes are equal; a bias over the channel axis otherwise).
void binaryRows(int op, int64_t rows, int64_t cols, const float* a, const float* b, float* out);

// out[j] = sum over i of x[i*cols + j] (a bias gradient: dy summed over every axis but the last).
void sumRows(int64_t rows, int64_t cols, const float* x, float* out);

}  // namespace osteon
