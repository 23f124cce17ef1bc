// oneDNN convolutions for tfjs's channels-last layouts: activations NHWC / NDHWC, filters HWIO /
// DHWIO, used as they are (no activation reorders). The filter layout is left to oneDNN
// ('any') and the filter (or its gradient) is reordered each call: forcing HWIO makes oneDNN 2.6
// fall back to im2col+gemm, 2-6x slower (see ../README.md).
//
// Primitives are built once per (direction, geometry) and cached; the scratchpad is one growing
// buffer shared by all of them. Calls are synchronous; cache, scratchpad and stream are per
// thread, so Node worker threads (Osteon trains in one) may use the addon at the same time.
#include "conv.h"

#include <omp.h>

#include <array>
#include <map>
#include <memory>
#include <unordered_map>
#include <stdexcept>
#include <vector>

namespace osteon {

using dnnl::memory;
using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

dnnl::engine& cpuEngine() {
  static dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  return eng;
}

static dnnl::stream& cpuStream() {
  thread_local dnnl::stream s(cpuEngine());
  return s;
}

thread_local std::vector<char> scratch;

static memory scratchpad(const dnnl::primitive_desc& pd) {
  const memory::desc md = pd.scratchpad_desc();
  if (md.get_size() > scratch.size()) scratch.resize(md.get_size() + 4096);
  return memory(md, cpuEngine(), scratch.data());
}

dnnl::stream& threadStream() { return cpuStream(); }
dnnl::memory threadScratchpad(const dnnl::primitive_desc& pd) { return scratchpad(pd); }

namespace {

struct Descs {
  memory::desc src, wAny, wUser, dst, bias;
  memory::dims strides, dilates, padL, padR;
};

Descs descsOf(const ConvGeom& g) {
  Descs d;
  const bool is3 = g.nd == 3;
  const tag act = is3 ? tag::ndhwc : tag::nhwc;
  const tag filt = is3 ? tag::dhwio : tag::hwio;
  auto sp = [&](int dv, int hv, int wv) { return is3 ? memory::dims{dv, hv, wv} : memory::dims{hv, wv}; };
  memory::dims src{g.n, g.c}, dst{g.n, g.co}, w{g.co, g.c};
  for (auto v : sp(g.d, g.h, g.w)) src.push_back(v);
  for (auto v : sp(g.od, g.oh, g.ow)) dst.push_back(v);
  for (auto v : sp(g.kd, g.kh, g.kw)) w.push_back(v);
  d.src = memory::desc(src, dt::f32, act);
  d.dst = memory::desc(dst, dt::f32, act);
  d.wAny = memory::desc(w, dt::f32, tag::any);
  d.wUser = memory::desc(w, dt::f32, filt);
  d.bias = memory::desc({g.co}, dt::f32, tag::a);
  d.strides = sp(g.sd, g.sh, g.sw);
  // oneDNN counts dilation from 0 (no dilation), tfjs from 1.
  d.dilates = sp(g.dd - 1, g.dh - 1, g.dw - 1);
  d.padL = sp(g.pf, g.pt, g.pl);
  d.padR = sp(g.pk, g.pb, g.pr);
  return d;
}

dnnl::primitive_attr attrFor(bool relu) {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  if (relu) {
    dnnl::post_ops po;
    po.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f);
    attr.set_post_ops(po);
  }
  return attr;
}

dnnl::convolution_forward::primitive_desc forwardPd(const Descs& d, bool bias, bool relu, dnnl::prop_kind kind) {
  const auto alg = dnnl::algorithm::convolution_direct;
  auto desc = bias ? dnnl::convolution_forward::desc(kind, alg, d.src, d.wAny, d.bias, d.dst, d.strides, d.dilates, d.padL, d.padR)
                   : dnnl::convolution_forward::desc(kind, alg, d.src, d.wAny, d.dst, d.strides, d.dilates, d.padL, d.padR);
  return dnnl::convolution_forward::primitive_desc(desc, attrFor(relu), cpuEngine());
}

// One cached direction for one geometry: the primitive, and the filter (or filter gradient) in
// the layout oneDNN chose plus the reorder to or from the user's HWIO.
struct Entry {
  dnnl::primitive prim;
  dnnl::primitive_desc pd;
  memory::desc wUser;
  memory wInternal;          // empty when oneDNN chose HWIO itself
  dnnl::reorder wReorder;
};

using Key = std::array<int, kGeomLen + 1>;
thread_local std::map<Key, Entry> cache;
constexpr size_t kMaxCached = 512;

Key keyOf(int op, const ConvGeom& g) {
  Key k{};
  k[0] = op;
  const int* raw = &g.nd;
  for (int i = 0; i < kGeomLen; i++) k[i + 1] = raw[i];
  return k;
}

void attachFilter(Entry& e, const memory::desc& chosen, bool toUser) {
  if (chosen == e.wUser) return;
  e.wInternal = memory(chosen, cpuEngine());
  memory user(e.wUser, cpuEngine(), nullptr);
  e.wReorder = toUser ? dnnl::reorder(e.wInternal, user) : dnnl::reorder(user, e.wInternal);
}

Entry build(int op, const ConvGeom& g) {
  const Descs d = descsOf(g);
  const bool bias = (g.flags & kBias) != 0, relu = (g.flags & kRelu) != 0;
  Entry e;
  e.wUser = d.wUser;
  const auto alg = dnnl::algorithm::convolution_direct;
  switch (op) {
    case kForward: {
      auto pd = forwardPd(d, bias, relu, dnnl::prop_kind::forward_training);
      e.prim = dnnl::convolution_forward(pd);
      attachFilter(e, pd.weights_desc(), false);
      e.pd = pd;
      break;
    }
    case kBackwardData: {
      auto hint = forwardPd(d, false, false, dnnl::prop_kind::forward_training);
      dnnl::convolution_backward_data::desc desc(alg, d.src, d.wAny, d.dst, d.strides, d.dilates, d.padL, d.padR);
      dnnl::convolution_backward_data::primitive_desc pd(desc, attrFor(false), cpuEngine(), hint);
      e.prim = dnnl::convolution_backward_data(pd);
      attachFilter(e, pd.weights_desc(), false);
      e.pd = pd;
      break;
    }
    case kBackwardWeights: {
      auto hint = forwardPd(d, bias, false, dnnl::prop_kind::forward_training);
      auto desc = bias ? dnnl::convolution_backward_weights::desc(alg, d.src, d.wAny, d.bias, d.dst, d.strides, d.dilates, d.padL, d.padR)
                       : dnnl::convolution_backward_weights::desc(alg, d.src, d.wAny, d.dst, d.strides, d.dilates, d.padL, d.padR);
      dnnl::convolution_backward_weights::primitive_desc pd(desc, attrFor(false), cpuEngine(), hint);
      e.prim = dnnl::convolution_backward_weights(pd);
      attachFilter(e, pd.diff_weights_desc(), true);
      e.pd = pd;
      break;
    }
    default:
      throw std::invalid_argument("unknown convolution direction");
  }
  return e;
}

Entry& entryFor(int op, const ConvGeom& g) {
  const Key k = keyOf(op, g);
  auto it = cache.find(k);
  if (it == cache.end()) {
    // Inference on volumes of many sizes would grow the cache without bound; rebuilding costs ms.
    if (cache.size() >= kMaxCached) cache.clear();
    it = cache.emplace(k, build(op, g)).first;
  }
  return it->second;
}

// A filter reorder on this thread alone: filters are small (at most a few hundred KB), and on two
// threads each reorder woke the other thread for ~0.1 ms of work (45 of them in a 2D U-Net step).
void reorderHere(dnnl::reorder& r, dnnl::stream& s, memory& from, memory& to) {
  const int threads = omp_get_max_threads();
  omp_set_num_threads(1);
  try {
    r.execute(s, from, to);
  } catch (...) {
    omp_set_num_threads(threads);
    throw;
  }
  omp_set_num_threads(threads);
}

}  // namespace

void runConv(int op, const ConvGeom& g, const ConvBuffers& b) {
  Entry& e = entryFor(op, g);
  const Descs d = descsOf(g);
  dnnl::stream& s = cpuStream();
  auto& eng = cpuEngine();
  memory user(e.wUser, eng, op == kBackwardWeights ? b.out : b.b);
  const bool reordered = static_cast<bool>(e.wInternal);
  memory w = reordered ? e.wInternal : user;
  if (reordered && op != kBackwardWeights) reorderHere(e.wReorder, s, user, e.wInternal);
  std::unordered_map<int, memory> args{{DNNL_ARG_SCRATCHPAD, scratchpad(e.pd)}};
  switch (op) {
    case kForward:
      args[DNNL_ARG_SRC] = memory(d.src, eng, b.a);
      args[DNNL_ARG_WEIGHTS] = w;
      args[DNNL_ARG_DST] = memory(d.dst, eng, b.out);
      if (g.flags & kBias) args[DNNL_ARG_BIAS] = memory(d.bias, eng, b.bias);
      break;
    case kBackwardData:
      args[DNNL_ARG_DIFF_DST] = memory(d.dst, eng, b.a);
      args[DNNL_ARG_WEIGHTS] = w;
      args[DNNL_ARG_DIFF_SRC] = memory(d.src, eng, b.out);
      break;
    default:
      args[DNNL_ARG_SRC] = memory(d.src, eng, b.a);
      args[DNNL_ARG_DIFF_DST] = memory(d.dst, eng, b.b);
      args[DNNL_ARG_DIFF_WEIGHTS] = w;
      if (g.flags & kBias) args[DNNL_ARG_DIFF_BIAS] = memory(d.bias, eng, b.bias);
      break;
  }
  e.prim.execute(s, args);
  if (reordered && op == kBackwardWeights) reorderHere(e.wReorder, s, e.wInternal, user);
  s.wait();
}

std::string implOf(int op, const ConvGeom& g) {
  return entryFor(op, g).pd.impl_info_str();
}

}  // namespace osteon
