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
