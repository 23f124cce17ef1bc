// The reference U-Net's whole forward pass for inference, in one addon call
// (app/learning/native/infer-net.ts). The activations stay in the layouts oneDNN picks for them
// from the first convolution to the head; no per-op channels-last round trip through the wasm heap.
// Per level: 3x3(x3) conv + bias + ReLU (post-op) twice, 2x max pool between levels, a 2x
// stride-2 deconvolution + bias up, concat with the skip, two convs, and a 1x1(x1) conv head
// written straight into the caller's channels-last float32 logits. Only models without
// normalisation (UNetConfig.normalization 'none') come here.
//
// Precision: f32, or bf16 activations and weights with f32 accumulation, f32 bias and f32 logits
// (oneDNN's brgconv AMX kernels on Sapphire Rapids and later, jit avx512_core_bf16 on Cooper Lake
// and Zen 4). oneDNN 2.6 asks Linux for the AMX tile state itself (arch_prctl
// ARCH_REQ_XCOMP_PERM in amx::is_available()); cpuIsa() reports what it found.
//
// Primitives are built per input shape (a plan) and kept for the last shape only; the
// activations of a plan are allocated once and reused every call.
#include "infer_net.h"

#include <oneapi/dnnl/dnnl.hpp>

#include <omp.h>

#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include "conv.h"
#include "napi_util.h"

namespace osteon {
namespace {

#if defined(__GNUC__)
#define OSTEON_INLINE __attribute__((always_inline)) inline
#else
#define OSTEON_INLINE inline
#endif
// GCC builds the activation twice (AVX-512 and baseline, picked at load time); elsewhere once.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define OSTEON_CLONES __attribute__((target_clones("avx512f", "default")))
#else
#define OSTEON_CLONES
#endif

// e^x in float for |x| <= 87 (clamped beyond), vectorisable (no libm call): 2^n · p(r) with
// x = n·ln2 + r, |r| <= ln2/2, and a degree-6 polynomial for e^r; relative error < 2e-7.
OSTEON_INLINE float expVec(float x) {
  x = x < -87.f ? -87.f : (x > 87.f ? 87.f : x);
  // round to nearest by adding and subtracting 1.5·2^23 (plain arithmetic, so it vectorises)
  const float n = (x * 1.44269504088896341f + 12582912.f) - 12582912.f;
  const float r = x - n * 0.693359375f + n * 2.12194440e-4f;
  float p = 1.f / 720.f;
  p = p * r + 1.f / 120.f;
  p = p * r + 1.f / 24.f;
  p = p * r + 1.f / 6.f;
  p = p * r + 0.5f;
  p = p * r + 1.f;
  p = p * r + 1.f;
  const int32_t bits = (int32_t(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);  // a bit cast the compiler keeps in registers
  return p * scale;
}

// The head's activation over channels-last logits [pix, c] into structure probabilities [pix, S],
// as window-accumulate.ts / accumulate.cc define them (mode: sigmoid 1, joint 2, softmax with a
// whole 3, softmax parts 4). Max-subtracted softmax, so large logits are safe. Blocks of 64
// voxels are transposed to one row per channel so every loop runs over voxels in SIMD lanes.
OSTEON_CLONES
void activate(int mode, int c, int64_t pix, const float* x, float* y) {
  constexpr int B = 64;
  const int S = (mode == 2 || mode == 4) ? c - 1 : c;
  const int from = mode == 2 ? 1 : 0;  // the softmax's first channel (joint: 1..c-1)
  // dynamic: a busy machine pre-empts OpenMP threads, and a static split then waits for the slowest
#pragma omp parallel for schedule(dynamic, 32)
  for (int64_t b = 0; b < pix; b += B) {
    const int n = int(b + B < pix ? B : pix - b);
    float t[16][B], m[B], sum[B];
    for (int k = 0; k < c; k++)
#pragma omp simd
      for (int q = 0; q < n; q++) t[k][q] = x[(b + q) * c + k];
    if (mode == 1 || mode == 2) {
      const int last = mode == 1 ? c : 1;
      for (int k = 0; k < last; k++)
#pragma omp simd
        for (int q = 0; q < n; q++) y[(b + q) * S + k] = 1.f / (1.f + expVec(-t[k][q]));
      if (mode == 1) continue;
    }
#pragma omp simd
    for (int q = 0; q < n; q++) m[q] = t[from][q];
    for (int k = from + 1; k < c; k++)
#pragma omp simd
      for (int q = 0; q < n; q++) m[q] = t[k][q] > m[q] ? t[k][q] : m[q];
#pragma omp simd
    for (int q = 0; q < n; q++) sum[q] = 0;
    for (int k = from; k < c; k++)
#pragma omp simd
      for (int q = 0; q < n; q++) sum[q] += (t[k][q] = expVec(t[k][q] - m[q]));
#pragma omp simd
    for (int q = 0; q < n; q++) sum[q] = 1.f / sum[q];
    // joint: out k-1 = p_k for k >= 2; softmax whole: out 0 = 1 - p_0, out k = p_k; parts: out k-1 = p_k
    for (int k = (mode == 3 ? 0 : from + 1); k < c; k++) {
      const int o = mode == 3 ? k : k - 1;
      if (mode == 3 && k == 0) {
#pragma omp simd
        for (int q = 0; q < n; q++) y[(b + q) * S] = 1.f - t[0][q] * sum[q];
      } else {
#pragma omp simd
        for (int q = 0; q < n; q++) y[(b + q) * S + o] = t[k][q] * sum[q];
      }
    }
  }
}

using dnnl::memory;
using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

struct Step {
  dnnl::primitive prim;
  std::function<void()> own;  // a step of ours instead of a primitive (the channels-last concat)
  std::unordered_map<int, memory> args;
  memory::desc scratch;
  std::string what;
  double ms = 0;  // summed time of this step (OSTEON_INFERNET_TIMES=1 only)
};

struct Tensor {
  std::vector<float> data;
  std::vector<int> shape;
};

class InferNet {
 public:
  int nd, cin, cout;
  int headMode = 0;  // 0: logits out; else the head's activation applied (activate())
  std::vector<int> filters;
  bool bf16;
  std::vector<Tensor> params;  // order: see paramCount()

  static int paramCount(int levels) { return 4 * levels + 6 * (levels - 1) + 2; }

  void forward(const std::vector<int>& shape, const float* x, float* out) {
    if (!plan_ || plan_->shape != shape) build(shape);
    Plan& p = *plan_;
    p.in.set_data_handle(const_cast<float*>(x));
    (headMode ? p.probs : p.out).set_data_handle(out);
    dnnl::stream& s = threadStream();
    static const bool timed = std::getenv("OSTEON_INFERNET_TIMES") != nullptr;
    p.calls++;
    for (Step& st : p.steps) {
      const double t0 = timed ? omp_get_wtime() : 0;
      if (st.own) {
        s.wait();
        st.own();
      } else {
        if (st.scratch.get_size() > 0) st.args[DNNL_ARG_SCRATCHPAD] = memory(st.scratch, cpuEngine(), p.scratch.data());
        st.prim.execute(s, st.args);
      }
      if (timed) {
        s.wait();
        st.ms += (omp_get_wtime() - t0) * 1000;
      }
    }
    s.wait();
  }

  std::string impl(const std::vector<int>& shape) {
    if (!plan_ || plan_->shape != shape) build(shape);
    std::string r;
    for (const Step& st : plan_->steps) {
      r += (r.empty() ? "" : "; ") + st.what;
      if (st.ms > 0) r += " " + std::to_string(st.ms / plan_->calls).substr(0, 5) + " ms";
    }
    return r;
  }

 private:
  struct Plan {
    std::vector<int> shape;
    std::vector<Step> steps;
    memory in, out, probs;
    std::vector<char> scratch;
    int64_t calls = 0;
  };
  std::unique_ptr<Plan> plan_;
  Plan* cur_ = nullptr;
  size_t next_ = 0;  // next parameter

  dt act() const { return bf16 ? dt::bf16 : dt::f32; }
  tag userTag() const { return nd == 3 ? tag::ndhwc : tag::nhwc; }
  memory::dims spatial(const memory::dims& d) const { return memory::dims(d.begin() + 2, d.end()); }
  memory::dims same(int v) const { return memory::dims(nd, v); }

  void push(dnnl::primitive prim, std::unordered_map<int, memory> args, const dnnl::primitive_desc_base& pd, const std::string& what) {
    Step st;
    st.prim = prim;
    st.args = std::move(args);
    st.scratch = pd.scratchpad_desc();
    st.what = what + " " + pd.impl_info_str();
    if (st.scratch.get_size() > cur_->scratch.size()) cur_->scratch.resize(st.scratch.get_size());
    cur_->steps.push_back(std::move(st));
  }

  memory to(const memory& src, const memory::desc& want, const std::string& what) {
    if (src.get_desc() == want) return src;
    memory dst(want, cpuEngine());
    dnnl::reorder::primitive_desc pd(cpuEngine(), src.get_desc(), cpuEngine(), want);
    push(dnnl::reorder(pd), {{DNNL_ARG_FROM, src}, {DNNL_ARG_TO, dst}}, pd, "reorder(" + what + ")");
    return dst;
  }

  // A parameter as a oneDNN memory of `want`, converted now (weights are constant).
  memory constant(const Tensor& t, const memory::desc& user, const memory::desc& want) {
    memory u(user, cpuEngine(), const_cast<float*>(t.data.data()));
    memory m(want, cpuEngine());
    dnnl::reorder(u, m).execute(threadStream(), u, m);
    threadStream().wait();
    return m;
  }

  const Tensor& take() {
    if (next_ >= params.size()) throw std::runtime_error("inferNet: too few parameters");
    return params[next_++];
  }

  memory bias(int co) {
    const Tensor& b = take();
    if (int(b.data.size()) != co) throw std::runtime_error("inferNet: bias " + std::to_string(next_ - 1) + " has " + std::to_string(b.data.size()) + " values, expected " + std::to_string(co));
    memory::desc d({co}, dt::f32, tag::a);
    return constant(b, d, d);
  }

  // 'same' conv k^nd + bias (+ ReLU); `dst` fixes the output (the head's logits), else oneDNN picks.
  memory conv(const memory& x, int co, int k, bool relu, const std::string& name, const memory* dst = nullptr) {
    const memory::dims xd = x.get_desc().dims();
    const int ci = int(xd[1]);
    const Tensor& w = take();
    if (int64_t(w.data.size()) != int64_t(co) * ci * (nd == 3 ? k * k * k : k * k)) throw std::runtime_error("inferNet: " + name + " weights have the wrong size");
    memory::dims wd{co, ci};
    for (int i = 0; i < nd; i++) wd.push_back(k);
    memory::dims yd{xd[0], co};
    for (auto v : spatial(xd)) yd.push_back(v);
    dnnl::post_ops po;
    if (relu) po.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f);
    dnnl::primitive_attr attr;
    attr.set_post_ops(po);
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    const memory::desc yAny = dst ? dst->get_desc() : memory::desc(yd, act(), tag::any);
    dnnl::convolution_forward::desc cd(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
                                       memory::desc(xd, act(), tag::any), memory::desc(wd, act(), tag::any),
                                       memory::desc({co}, dt::f32, tag::a), yAny, same(1), same(k / 2), same(k / 2));
    dnnl::convolution_forward::primitive_desc pd(cd, attr, cpuEngine());
    memory xs = to(x, pd.src_desc(), name);
    memory wm = constant(w, memory::desc(wd, dt::f32, nd == 3 ? tag::dhwio : tag::hwio), pd.weights_desc());
    memory b = bias(co);
    memory y = dst ? *dst : memory(pd.dst_desc(), cpuEngine());
    push(dnnl::convolution_forward(pd), {{DNNL_ARG_SRC, xs}, {DNNL_ARG_WEIGHTS, wm}, {DNNL_ARG_BIAS, b}, {DNNL_ARG_DST, y}}, pd, name);
    return y;
  }

  memory pool(const memory& x, const std::string& name) {
    const memory::dims xd = x.get_desc().dims();
    memory::dims yd{xd[0], xd[1]};
    for (auto v : spatial(xd)) yd.push_back(v / 2);
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    dnnl::pooling_forward::desc d(dnnl::prop_kind::forward_inference, dnnl::algorithm::pooling_max, x.get_desc(),
                                  memory::desc(yd, act(), tag::any), same(2), same(2), same(0), same(0));
    dnnl::pooling_forward::primitive_desc pd(d, attr, cpuEngine());
    memory y(pd.dst_desc(), cpuEngine());
    push(dnnl::pooling_forward(pd), {{DNNL_ARG_SRC, x}, {DNNL_ARG_DST, y}}, pd, name);
    return y;
  }

  // 2^nd stride-2 transposed conv + bias; tfjs's filter is [k..., co, ci].
  memory up(const memory& x, int co, const std::string& name) {
    const memory::dims xd = x.get_desc().dims();
    const int ci = int(xd[1]);
    const Tensor& w = take();
    if (int64_t(w.data.size()) != int64_t(co) * ci * (nd == 3 ? 8 : 4)) throw std::runtime_error("inferNet: " + name + " weights have the wrong size");
    memory::dims wd{co, ci}, yd{xd[0], co};
    for (int i = 0; i < nd; i++) wd.push_back(2);
    for (auto v : spatial(xd)) yd.push_back(v * 2);
    // strides of [k..., co, ci] for dims (co, ci, k...)
    memory::dims ws{ci, 1};
    for (int i = 0; i < nd; i++) {
      int64_t s = int64_t(co) * ci;
      for (int j = i + 1; j < nd; j++) s *= 2;
      ws.push_back(s);
    }
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    dnnl::deconvolution_forward::desc d(dnnl::prop_kind::forward_inference, dnnl::algorithm::deconvolution_direct,
                                        memory::desc(xd, act(), tag::any), memory::desc(wd, act(), tag::any),
                                        memory::desc({co}, dt::f32, tag::a), memory::desc(yd, act(), tag::any), same(2), same(0), same(0));
    dnnl::deconvolution_forward::primitive_desc pd(d, attr, cpuEngine());
    memory xs = to(x, pd.src_desc(), name);
    memory wm = constant(w, memory::desc(wd, dt::f32, ws), pd.weights_desc());
    memory b = bias(co);
    memory y(pd.dst_desc(), cpuEngine());
    push(dnnl::deconvolution_forward(pd), {{DNNL_ARG_SRC, xs}, {DNNL_ARG_WEIGHTS, wm}, {DNNL_ARG_BIAS, b}, {DNNL_ARG_DST, y}}, pd, name);
    return y;
  }

  memory cat(const memory& a, const memory& b, const std::string& name) {
    // Both halves channels-last (what the AMX and avx512 brgconv kernels pick): one OpenMP pass
    // copying each voxel's two channel runs, about twice as fast as oneDNN 2.6's simple concat here.
    const memory::dims ad = a.get_desc().dims(), bd = b.get_desc().dims();
    const bool plainA = a.get_desc() == memory::desc(ad, act(), userTag()), plainB = b.get_desc() == memory::desc(bd, act(), userTag());
    if (plainA && plainB && !std::getenv("OSTEON_INFERNET_DNNL_CONCAT")) {
      memory::dims yd = ad;
      yd[1] += bd[1];
      memory y(memory::desc(yd, act(), userTag()), cpuEngine());
      int64_t pix = 1;
      for (size_t i = 0; i < ad.size(); i++) if (i != 1) pix *= ad[i];
      const size_t es = bf16 ? 2 : 4, ca = size_t(ad[1]) * es, cb = size_t(bd[1]) * es;
      const char* pa = static_cast<const char*>(a.get_data_handle());
      const char* pb = static_cast<const char*>(b.get_data_handle());
      char* py = static_cast<char*>(y.get_data_handle());
      Step st;
      st.own = [=] {
#pragma omp parallel for schedule(dynamic, 4096)
        for (int64_t p = 0; p < pix; p++) {
          std::memcpy(py + p * (ca + cb), pa + p * ca, ca);
          std::memcpy(py + p * (ca + cb) + ca, pb + p * cb, cb);
        }
      };
      st.what = name + " own:channels-last";
      cur_->steps.push_back(std::move(st));
      return y;
    }
    std::vector<memory::desc> src{a.get_desc(), b.get_desc()};
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    dnnl::concat::primitive_desc pd(1, src, cpuEngine(), attr);
    memory y(pd.dst_desc(), cpuEngine());
    push(dnnl::concat(pd), {{DNNL_ARG_MULTIPLE_SRC, a}, {DNNL_ARG_MULTIPLE_SRC + 1, b}, {DNNL_ARG_DST, y}}, pd, name);
    return y;
  }

  void build(const std::vector<int>& shape) {
    plan_.reset();  // free the old activations first
    auto p = std::make_unique<Plan>();
    p->shape = shape;
    cur_ = p.get();
    next_ = 0;
    // shape = {n, d, h, w}; d = 1 in 2D
    memory::dims xd{shape[0], cin}, yd{shape[0], cout};
    for (int i = (nd == 3 ? 1 : 2); i < 4; i++) xd.push_back(shape[i]), yd.push_back(shape[i]);
    p->in = memory(memory::desc(xd, dt::f32, userTag()), cpuEngine(), nullptr);
    p->out = memory(memory::desc(yd, dt::f32, userTag()), cpuEngine(), nullptr);
    if (headMode) {
      // The caller's buffer gets S probabilities per voxel; the logits go to a buffer of ours.
      memory::dims sd = yd;
      sd[1] = (headMode == 2 || headMode == 4) ? cout - 1 : cout;
      p->probs = memory(memory::desc(sd, dt::f32, userTag()), cpuEngine(), nullptr);
      p->out = memory(memory::desc(yd, dt::f32, userTag()), cpuEngine());
    }
    const int L = int(filters.size());
    memory h = p->in;
    std::vector<memory> skips;
    for (int l = 0; l < L; l++) {
      const std::string n = "enc" + std::to_string(l);
      if (l > 0) h = pool(h, n + ".pool");
      h = conv(h, filters[l], 3, true, n + ".conv0");
      h = conv(h, filters[l], 3, true, n + ".conv1");
      skips.push_back(h);
    }
    for (int l = L - 2; l >= 0; l--) {
      const std::string n = "dec" + std::to_string(l);
      memory u = up(h, filters[l], n + ".up");
      h = cat(skips[l], u, n + ".concat");
      h = conv(h, filters[l], 3, true, n + ".conv0");
      h = conv(h, filters[l], 3, true, n + ".conv1");
    }
    conv(h, cout, 1, false, "head", &p->out);
    if (headMode) {
      int64_t pix = 1;
      for (size_t i = 0; i < yd.size(); i++) if (i != 1) pix *= yd[i];
      Step st;
      const float* logits = static_cast<const float*>(p->out.get_data_handle());
      memory probs = p->probs;
      const int mode = headMode, c = cout;
      st.own = [=] { activate(mode, c, pix, logits, static_cast<float*>(probs.get_data_handle())); };
      st.what = "head activation own:simd";
      cur_->steps.push_back(std::move(st));
    }
    if (next_ != params.size()) throw std::runtime_error("inferNet: too many parameters");
    plan_ = std::move(p);
    cur_ = nullptr;
  }
};

// ---- N-API ----

using napi::args;
using napi::guarded;
using napi::JsError;
using napi::ok;
using napi::string;

template <typename T>
T* typed(napi_env env, napi_value v, napi_typedarray_type want, size_t* len, const char* what) {
  return napi::typedArray<T>(env, v, want, len, what);
}

// The JS handle: an external holding this, so inferNetRelease can free the net (and its plan's
// activations) before the garbage collector would.
struct Holder {
  std::unique_ptr<InferNet> net;
};

Holder* holderOf(napi_env env, napi_value v) {
  void* p = nullptr;
  ok(napi_get_value_external(env, v, &p));
  if (!p) throw JsError("inferNet: not a net");
  return static_cast<Holder*>(p);
}

InferNet* netOf(napi_env env, napi_value v) {
  InferNet* n = holderOf(env, v)->net.get();
  if (!n) throw JsError("inferNet: released");
  return n;
}

std::vector<int> shapeOf(napi_env env, napi_value v) {
  size_t len;
  const int32_t* s = typed<int32_t>(env, v, napi_int32_array, &len, "shape");
  if (len != 4) throw JsError("shape: expected [n, d, h, w]");
  std::vector<int> r(s, s + 4);
  for (int x : r) if (x < 1) throw JsError("shape: sizes must be positive");
  return r;
}

// inferNetCreate(spec Int32Array [nd, cin, cout, levels, filters...], precision 0 f32 | 1 bf16, params Float32Array[])
napi_value Create(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    auto argv = args(env, info, 3);
    size_t len;
    const int32_t* spec = typed<int32_t>(env, argv[0], napi_int32_array, &len, "spec");
    if (len < 4 || (len != size_t(4 + spec[3]) && len != size_t(5 + spec[3]))) throw JsError("spec: expected [nd, cin, cout, levels, filters..., headMode?]");
    auto net = std::make_unique<InferNet>();
    net->nd = spec[0], net->cin = spec[1], net->cout = spec[2];
    if ((net->nd != 2 && net->nd != 3) || net->cin < 1 || net->cout < 1 || spec[3] < 1) throw JsError("spec: bad values");
    net->filters.assign(spec + 4, spec + 4 + spec[3]);
    if (len == size_t(5 + spec[3])) net->headMode = spec[4 + spec[3]];
    if (net->headMode < 0 || net->headMode > 4 || (net->headMode && net->cout > 16) || (net->headMode % 2 == 0 && net->headMode && net->cout < 2)) throw JsError("spec: bad head mode");
    int32_t precision;
    ok(napi_get_value_int32(env, argv[1], &precision));
    if (precision != 0 && precision != 1) throw JsError("precision: 0 (f32) or 1 (bf16)");
    net->bf16 = precision == 1;
    uint32_t n;
    ok(napi_get_array_length(env, argv[2], &n));
    if (int(n) != InferNet::paramCount(spec[3])) throw JsError("params: expected " + std::to_string(InferNet::paramCount(spec[3])) + " tensors, got " + std::to_string(n));
    for (uint32_t i = 0; i < n; i++) {
      napi_value e;
      ok(napi_get_element(env, argv[2], i, &e));
      const float* d = typed<float>(env, e, napi_float32_array, &len, "params");
      net->params.push_back({std::vector<float>(d, d + len), {}});
    }
    napi_value ext;
    Holder* h = new Holder{std::move(net)};
    ok(napi_create_external(env, h, [](napi_env, void* p, void*) { delete static_cast<Holder*>(p); }, nullptr, &ext));
    return ext;
  });
}

// inferNetForward(net, shape Int32Array [n, d, h, w], x Float32Array, logits Float32Array)
napi_value Forward(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    auto argv = args(env, info, 4);
    InferNet* net = netOf(env, argv[0]);
    const std::vector<int> shape = shapeOf(env, argv[1]);
    if (net->nd == 2 && shape[1] != 1) throw JsError("shape: d must be 1 for a 2D model");
    const int64_t vox = int64_t(shape[0]) * shape[1] * shape[2] * shape[3];
    size_t lx, ly;
    const float* x = typed<float>(env, argv[2], napi_float32_array, &lx, "x");
    float* y = typed<float>(env, argv[3], napi_float32_array, &ly, "logits");
    if (int64_t(lx) < vox * net->cin) throw JsError("x: too short for the shape");
    const int outC = (net->headMode == 2 || net->headMode == 4) ? net->cout - 1 : net->cout;
    if (int64_t(ly) < vox * outC) throw JsError("logits: too short for the shape");
    net->forward(shape, x, y);
    napi_value u;
    napi_get_undefined(env, &u);
    return u;
  });
}

// inferNetImpl(net, shape): the primitives of that shape's plan and oneDNN's implementation of each.
napi_value Impl(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    auto argv = args(env, info, 2);
    return string(env, netOf(env, argv[0])->impl(shapeOf(env, argv[1])));
  });
}

// inferNetRelease(net): frees the net now; later calls with it throw.
napi_value Release(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    auto argv = args(env, info, 1);
    holderOf(env, argv[0])->net.reset();
    napi_value u;
    napi_get_undefined(env, &u);
    return u;
  });
}

// cpuIsa(): oneDNN's effective ISA ("avx512_core_amx", "avx512_core_bf16", "avx512_core", ...).
napi_value CpuIsa(napi_env env, napi_callback_info) {
  return guarded(env, [&] {
    switch (dnnl::get_effective_cpu_isa()) {
      case dnnl::cpu_isa::avx512_core_amx: return string(env, "avx512_core_amx");
      case dnnl::cpu_isa::avx512_core_bf16: return string(env, "avx512_core_bf16");
      case dnnl::cpu_isa::avx512_core_vnni: return string(env, "avx512_core_vnni");
      case dnnl::cpu_isa::avx512_core: return string(env, "avx512_core");
      case dnnl::cpu_isa::avx2_vnni: return string(env, "avx2_vnni");
      case dnnl::cpu_isa::avx2: return string(env, "avx2");
      case dnnl::cpu_isa::avx: return string(env, "avx");
      case dnnl::cpu_isa::sse41: return string(env, "sse41");
      default: return string(env, "other");
    }
  });
}

}  // namespace

void registerInferNet(napi_env env, napi_value exports) {
  const napi_property_descriptor props[] = {
      {"inferNetCreate", nullptr, Create, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"inferNetForward", nullptr, Forward, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"inferNetImpl", nullptr, Impl, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"inferNetRelease", nullptr, Release, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"cpuIsa", nullptr, CpuIsa, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
}

}  // namespace osteon
