// Max pool forward on oneDNN (pooling_forward, algorithm pooling_max, forward_inference: the
// backward, memops.cc maxPoolGrad, recomputes each window's first maximum from x as tfjs does, so
// no workspace is kept). Channels-last NHWC / NDHWC used as they are; primitives cached per
// geometry and per thread, like the convolutions (conv.cc).
#include <algorithm>
#include <array>
#include <map>
#include <stdexcept>
#include <string>
#include <unordered_map>

#include "conv.h"
#include "fused.h"

namespace osteon {

using dnnl::memory;
using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

namespace {

// oneDNN requires out = (in + padL + padR - k) / s + 1; tfjs's 'valid' on odd sizes drops the
// leftover input (padR would be negative), 'same' pads after: the smallest padR >= 0 that gives
// tfjs's output size.
int padAfter(int in, int out, int k, int s, int before) {
  const int need = std::max(0, (out - 1) * s + k - in - before);
  if ((in + before + need - k) / s + 1 != out) throw std::invalid_argument("max pool: oneDNN cannot express this padding");
  return need;
}

struct PoolEntry {
  dnnl::pooling_forward prim;
  dnnl::pooling_forward::primitive_desc pd;
  memory::desc src, dst;
};

using PoolKey = std::array<int, kPoolGeomLen>;
thread_local std::map<PoolKey, PoolEntry> poolCache;
constexpr size_t kMaxPoolCached = 256;

PoolEntry buildPool(const PoolGeom& g) {
  const bool is3 = g.d > 1 || g.od > 1 || g.kd > 1;
  auto sp = [&](int dv, int hv, int wv) { return is3 ? memory::dims{dv, hv, wv} : memory::dims{hv, wv}; };
  memory::dims src{g.n, g.c}, dst{g.n, g.c};
  for (auto v : sp(g.d, g.h, g.w)) src.push_back(v);
  for (auto v : sp(g.od, g.oh, g.ow)) dst.push_back(v);
  const tag act = is3 ? tag::ndhwc : tag::nhwc;
  PoolEntry e;
  e.src = memory::desc(src, dt::f32, act);
  e.dst = memory::desc(dst, dt::f32, act);
  const memory::dims padR = sp(padAfter(g.d, g.od, g.kd, g.sd, g.pf), padAfter(g.h, g.oh, g.kh, g.sh, g.pt), padAfter(g.w, g.ow, g.kw, g.sw, g.pl));
  dnnl::pooling_forward::desc desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::pooling_max, e.src, e.dst, sp(g.sd, g.sh, g.sw), sp(g.kd, g.kh, g.kw),
                                   sp(g.pf, g.pt, g.pl), padR);
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  e.pd = dnnl::pooling_forward::primitive_desc(desc, attr, cpuEngine());
  e.prim = dnnl::pooling_forward(e.pd);
  return e;
}

PoolEntry& poolEntry(const PoolGeom& g) {
  PoolKey k;
  std::copy(&g.n, &g.n + kPoolGeomLen, k.begin());
  auto it = poolCache.find(k);
  if (it == poolCache.end()) {
    if (poolCache.size() >= kMaxPoolCached) poolCache.clear();
    it = poolCache.emplace(k, buildPool(g)).first;
  }
  return it->second;
}

}  // namespace

void maxPoolForward(const PoolGeom& g, const float* x, float* y) {
  PoolEntry& e = poolEntry(g);
  auto& eng = cpuEngine();
  dnnl::stream& s = threadStream();
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, memory(e.src, eng, const_cast<float*>(x))}, {DNNL_ARG_DST, memory(e.dst, eng, y)},
                                       {DNNL_ARG_SCRATCHPAD, threadScratchpad(e.pd)}};
  e.prim.execute(s, args);
  s.wait();
}

std::string poolImplOf(const PoolGeom& g) {
  return poolEntry(g).pd.impl_info_str();
}

}  // namespace osteon

// ---- Max pool backward, vectorised over channels ----
//
// For each output position the argmax of its window is found 4 channels at a time (SSE: compare,
// then select the tap index), and dy goes to that tap: the first maximum in (d, h, w) order with
// a strict '>' from -inf, as tfjs's cpu backend and memops.cc's scalar loop pick it (a NaN or
// -inf window passes nothing). The scalar loop branches on each comparison, which mispredicts
// on half of a network's activations: 30 ms for a [1,64,64,64,8] input on one thread; this is
// ~1-2 ms. Without overlap (kernel <= stride, the U-Net's 2x2(x2) stride 2) every input element
// gets exactly one store; windows that overlap add, with threads split over the batch.
#include <immintrin.h>
#include <omp.h>

#include <cstring>
#include <limits>
#include <vector>

namespace osteon {

void maxPoolGradVector(const PoolGeom& g, const float* x, const float* dy, float* dx, bool lastMax, const float* add) {
  const bool overlap = g.kd > g.sd || g.kh > g.sh || g.kw > g.sw;
  // Every input element inside exactly one window: no need to zero dx first.
  const bool tiles = !overlap && g.kd == g.sd && g.kh == g.sh && g.kw == g.sw && g.pf == 0 && g.pt == 0 && g.pl == 0 && g.od * g.sd == g.d &&
                     g.oh * g.sh == g.h && g.ow * g.sw == g.w;
  // With `add` (the gradient of the pooled tensor's other consumer, e.g. a U-Net skip concat),
  // dx = add + the pooling gradient in the same pass: tiles read add where they write dx; other
  // geometries start from a copy of add and accumulate.
  const int64_t inSize = int64_t(g.n) * g.d * g.h * g.w * g.c;
  if (!tiles) {
    if (add) std::memcpy(dx, add, sizeof(float) * size_t(inSize));
    else std::memset(dx, 0, sizeof(float) * size_t(inSize));
  }
  const bool accumulate = overlap || (add && !tiles);
  const float* base = tiles ? add : nullptr;  // tiles: dx = base + v
  const int64_t units = overlap ? g.n : int64_t(g.n) * g.od * g.oh;
  const int64_t rowsPerUnit = overlap ? int64_t(g.od) * g.oh : 1;
  const int c4 = g.c - g.c % 4;
#pragma omp parallel
  {
    std::vector<int64_t> taps;
    taps.reserve(size_t(g.kd) * g.kh * g.kw);
#pragma omp for schedule(static)
    for (int64_t u = 0; u < units; u++) {
      for (int64_t r = 0; r < rowsPerUnit; r++) {
        const int64_t row = u * rowsPerUnit + r;  // (n, od, oh) flattened
        const int oh = int(row % g.oh), od = int((row / g.oh) % g.od), n = int(row / (int64_t(g.oh) * g.od));
        for (int ow = 0; ow < g.ow; ow++) {
          taps.clear();
          for (int kd = 0; kd < g.kd; kd++) {
            const int id = od * g.sd - g.pf + kd;
            if (id < 0 || id >= g.d) continue;
            for (int kh = 0; kh < g.kh; kh++) {
              const int ih = oh * g.sh - g.pt + kh;
              if (ih < 0 || ih >= g.h) continue;
              for (int kw = 0; kw < g.kw; kw++) {
                const int iw = ow * g.sw - g.pl + kw;
                if (iw < 0 || iw >= g.w) continue;
                taps.push_back((((int64_t(n) * g.d + id) * g.h + ih) * g.w + iw) * g.c);
              }
            }
          }
          const float* gy = dy + (((int64_t(n) * g.od + od) * g.oh + oh) * g.ow + ow) * g.c;
          const int nt = int(taps.size());
          for (int c = 0; c < c4; c += 4) {
            __m128 best = _mm_set1_ps(-std::numeric_limits<float>::infinity());
            __m128i slot = _mm_set1_epi32(-1);
            for (int t = 0; t < nt; t++) {
              const __m128 v = _mm_loadu_ps(x + taps[t] + c);
              const __m128 gt = lastMax ? _mm_cmpge_ps(v, best) : _mm_cmpgt_ps(v, best);
              best = _mm_or_ps(_mm_and_ps(gt, v), _mm_andnot_ps(gt, best));
              const __m128i gi = _mm_castps_si128(gt);
              slot = _mm_or_si128(_mm_and_si128(gi, _mm_set1_epi32(t)), _mm_andnot_si128(gi, slot));
            }
            const __m128 gv = _mm_loadu_ps(gy + c);
            for (int t = 0; t < nt; t++) {
              const __m128 v = _mm_and_ps(_mm_castsi128_ps(_mm_cmpeq_epi32(slot, _mm_set1_epi32(t))), gv);
              float* p = dx + taps[t] + c;
              if (accumulate) _mm_storeu_ps(p, _mm_add_ps(_mm_loadu_ps(p), v));
              else if (base) _mm_storeu_ps(p, _mm_add_ps(_mm_loadu_ps(base + taps[t] + c), v));
              else _mm_storeu_ps(p, v);
            }
          }
          for (int c = c4; c < g.c; c++) {
            float best = -std::numeric_limits<float>::infinity();
            int arg = -1;
            for (int t = 0; t < nt; t++) {
              const float v = x[taps[t] + c];
              if (lastMax ? v >= best : v > best) best = v, arg = t;
            }
            for (int t = 0; t < nt; t++) {
              float* p = dx + taps[t] + c;
              const float v = t == arg ? gy[c] : 0.f;
              *p = accumulate ? *p + v : base ? base[taps[t] + c] + v : v;
            }
          }
        }
      }
    }
  }
}

}  // namespace osteon
