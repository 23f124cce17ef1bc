// Memory-bound kernels in plain C++ with OpenMP: the wasm backend runs them single-threaded in
// scalar or per-row JS code, which made them ~3/4 of a U-Net step once convolutions moved to
// oneDNN (../README.md).
#include "memops.h"

#include <omp.h>

#include <cstring>
#include <limits>
#include <vector>

namespace osteon {

// Gradient of a max pool: each output's dy goes to the first maximum of its window in (d, h, w)
// order, as tfjs's cpu backend does (strict '>' from -inf). Windows may overlap (stride < size),
// so threads split the batch then; without overlap they split output rows.
void maxPoolGrad(const PoolGeom& g, const float* x, const float* dy, float* dx) {
  const int64_t inSize = int64_t(g.n) * g.d * g.h * g.w * g.c;
  std::memset(dx, 0, sizeof(float) * inSize);
  const bool overlap = g.kd > g.sd || g.kh > g.sh || g.kw > g.sw;
  const int64_t units = overlap ? g.n : int64_t(g.n) * g.od * g.oh;
  const int64_t rowsPerUnit = overlap ? int64_t(g.od) * g.oh : 1;
#pragma omp parallel
  {
    std::vector<float> best(g.c);
    std::vector<int64_t> arg(g.c);
#pragma omp for schedule(static)
    for (int64_t u = 0; u < units; u++) {
      for (int64_t r = 0; r < rowsPerUnit; r++) {
        const int64_t row = u * rowsPerUnit + r;  // (n, od, oh) flattened
        const int oh = int(row % g.oh), od = int((row / g.oh) % g.od), n = int(row / (int64_t(g.oh) * g.od));
        for (int ow = 0; ow < g.ow; ow++) {
          std::fill(best.begin(), best.end(), -std::numeric_limits<float>::infinity());
          std::fill(arg.begin(), arg.end(), -1);
          for (int kd = 0; kd < g.kd; kd++) {
            const int id = od * g.sd - g.pf + kd;
            if (id < 0 || id >= g.d) continue;
            for (int kh = 0; kh < g.kh; kh++) {
              const int ih = oh * g.sh - g.pt + kh;
              if (ih < 0 || ih >= g.h) continue;
              for (int kw = 0; kw < g.kw; kw++) {
                const int iw = ow * g.sw - g.pl + kw;
                if (iw < 0 || iw >= g.w) continue;
                const int64_t base = (((int64_t(n) * g.d + id) * g.h + ih) * g.w + iw) * g.c;
                for (int c = 0; c < g.c; c++) {
                  const float v = x[base + c];
                  if (v > best[c]) {
                    best[c] = v;
                    arg[c] = base + c;
                  }
                }
              }
            }
          }
          const float* g_ = dy + ((((int64_t(n) * g.od + od) * g.oh + oh) * g.ow + ow) * g.c);
          for (int c = 0; c < g.c; c++) {
            if (arg[c] >= 0) dx[arg[c]] += g_[c];
          }
        }
      }
    }
  }
}

// A run of floats: an inline loop for runs of up to 8 floats (a 3D U-Net's first level concats
// and splits 262144 runs of 8 channels: 2.1-2.4 ms instead of 8-10 ms with a memcpy call per
// run, measured in one process on this machine), memcpy above (faster from 16 floats on).
static inline void copyRun(float* __restrict d, const float* __restrict s, int64_t n) {
  if (n > 8) {
    std::memcpy(d, s, sizeof(float) * n);
    return;
  }
  for (int64_t j = 0; j < n; j++) d[j] = s[j];
}

void concatRows(int64_t outer, int pieces, const float* const* src, const int64_t* widths, float* dst) {
  int64_t total = 0;
  for (int p = 0; p < pieces; p++) total += widths[p];
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < outer; r++) {
    float* d = dst + r * total;
    for (int p = 0; p < pieces; p++) {
      copyRun(d, src[p] + r * widths[p], widths[p]);
      d += widths[p];
    }
  }
}

void splitRows(int64_t outer, int pieces, const float* src, const int64_t* widths, float* const* dst) {
  int64_t total = 0;
  for (int p = 0; p < pieces; p++) total += widths[p];
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < outer; r++) {
    const float* s = src + r * total;
    for (int p = 0; p < pieces; p++) {
      copyRun(dst[p] + r * widths[p], s, widths[p]);
      s += widths[p];
    }
  }
}

// The trailing axes taken whole form one contiguous run with the first axis that is cut, so the
// slice is `rows` copies of `run` floats; rows are spread over threads.
void sliceNd(int rank, const int64_t* inShape, const int64_t* begin, const int64_t* size, const float* src, float* dst) {
  int k = rank - 1;  // the innermost axis that is cut (or 0)
  while (k > 0 && begin[k] == 0 && size[k] == inShape[k]) k--;
  std::vector<int64_t> stride(rank, 1);
  for (int d = rank - 2; d >= 0; d--) stride[d] = stride[d + 1] * inShape[d + 1];
  const int64_t run = size[k] * stride[k];
  const int64_t first = begin[k] * stride[k];
  int64_t rows = 1;
  for (int d = 0; d < k; d++) rows *= size[d];
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; r++) {
    int64_t off = first, rest = r;
    for (int d = k - 1; d >= 0; d--) {
      off += (begin[d] + rest % size[d]) * stride[d];
      rest /= size[d];
    }
    std::memcpy(dst + r * run, src + off, sizeof(float) * run);
  }
}

void binaryRows(int op, int64_t rows, int64_t cols, const float* a, const float* b, float* out) {
  if (rows == 1) {  // same shapes: split the one long row
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < cols; i++) out[i] = op == 0 ? a[i] + b[i] : a[i] * b[i];
    return;
  }
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; r++) {
    const float* x = a + r * cols;
    float* y = out + r * cols;
    if (op == 0) {
      for (int64_t j = 0; j < cols; j++) y[j] = x[j] + b[j];
    } else {
      for (int64_t j = 0; j < cols; j++) y[j] = x[j] * b[j];
    }
  }
}

// Per-thread partial sums in double, then added in thread order: deterministic for a fixed
// thread count, and closer to the exact sum than tfjs's sequential float32 sum.
void sumRows(int64_t rows, int64_t cols, const float* x, float* out) {
  const int threads = omp_get_max_threads();
  std::vector<double> part(size_t(threads) * cols, 0.0);
#pragma omp parallel num_threads(threads)
  {
    double* acc = part.data() + size_t(omp_get_thread_num()) * cols;
#pragma omp for schedule(static)
    for (int64_t r = 0; r < rows; r++) {
      const float* row = x + r * cols;
      for (int64_t j = 0; j < cols; j++) acc[j] += row[j];
    }
  }
  for (int64_t j = 0; j < cols; j++) {
    double s = 0;
    for (int t = 0; t < threads; t++) s += part[size_t(t) * cols + j];
    out[j] = float(s);
  }
}

}  // namespace osteon
