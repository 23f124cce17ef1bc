// N-API entry points (plain node_api.h: ABI-stable across Node and Electron, no extra package).
// Every buffer is a Float32Array (in practice a view of the tfjs wasm heap); lengths are checked
// against the geometry before any pointer is used.
#include <node_api.h>
#include <omp.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "conv.h"
#include "fused.h"
#include "memops.h"
#include "loss_adam.h"
#include "accumulate.h"
#include "infer_net.h"
#include "deconv.h"
#include "napi_util.h"

namespace {

using osteon::napi::guarded;
using osteon::napi::JsError;

void check(napi_env, napi_status s) {
  osteon::napi::ok(s);
}

std::vector<napi_value> argsOf(napi_env env, napi_callback_info info, size_t want) {
  return osteon::napi::args(env, info, want);
}

template <typename T>
T* typed(napi_env env, napi_value v, napi_typedarray_type want, int64_t minLen, const char* what) {
  size_t len;
  T* data = osteon::napi::typedArray<T>(env, v, want, &len, what);
  if (int64_t(len) < minLen) throw JsError(std::string(what) + ": " + std::to_string(len) + " elements, need " + std::to_string(minLen));
  return data;
}

float* f32(napi_env env, napi_value v, int64_t minLen, const char* what) {
  return typed<float>(env, v, napi_float32_array, minLen, what);
}

int64_t num(napi_env env, napi_value v) {
  int64_t out;
  check(env, napi_get_value_int64(env, v, &out));
  return out;
}

napi_value undefinedValue(napi_env env) {
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

napi_value str(napi_env env, const std::string& s) {
  return osteon::napi::string(env, s);
}

osteon::ConvGeom convGeom(napi_env env, napi_value v) {
  const int32_t* raw = typed<int32_t>(env, v, napi_int32_array, osteon::kGeomLen, "geometry");
  osteon::ConvGeom g;
  std::copy(raw, raw + osteon::kGeomLen, &g.nd);
  const int* all = &g.nd;
  for (int i = 1; i < osteon::kGeomLen - 1; i++) {
    const bool pad = i >= 19;
    if (pad ? all[i] < 0 : all[i] < 1) throw JsError("geometry value " + std::to_string(i) + " out of range");
  }
  if (g.nd != 2 && g.nd != 3) throw JsError("geometry: nd must be 2 or 3");
  return g;
}

// conv(op, geometry, a, b, out, bias | null)
napi_value Conv(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    auto argv = argsOf(env, info, 6);
    const int op = int(num(env, argv[0]));
    const osteon::ConvGeom g = convGeom(env, argv[1]);
    const int64_t xs = int64_t(g.n) * g.d * g.h * g.w * g.c;
    const int64_t ws = int64_t(g.kd) * g.kh * g.kw * g.c * g.co;
    const int64_t ys = int64_t(g.n) * g.od * g.oh * g.ow * g.co;
    int64_t la, lb, lo;
    switch (op) {
      case osteon::kForward: la = xs, lb = ws, lo = ys; break;
      case osteon::kBackwardData: la = ys, lb = ws, lo = xs; break;
      case osteon::kBackwardWeights: la = xs, lb = ys, lo = ws; break;
      default: throw JsError("conv: op must be 0, 1 or 2");
    }
    const bool bias = (g.flags & osteon::kBias) != 0;
    if (bias && op == osteon::kBackwardData) throw JsError("conv: no bias in backward data");
    if ((g.flags & osteon::kRelu) && op != osteon::kForward) throw JsError("conv: relu only in forward");
    osteon::ConvBuffers b{f32(env, argv[2], la, "a"), f32(env, argv[3], lb, "b"), f32(env, argv[4], lo, "out"),
                          bias ? f32(env, argv[5], g.co, "bias") : nullptr};
    osteon::runConv(op, g, b);
    return undefinedValue(env);
  });
}

// convImpl(op, geometry): the oneDNN implementation chosen, e.g. "brgconv:avx512_core".
napi_value ConvImpl(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    auto argv = argsOf(env, info, 2);
    return str(env, osteon::implOf(int(num(env, argv[0])), convGeom(env, argv[1])));
  });
}

// maxPoolGrad(geometry, x, dy, dx)
napi_value MaxPoolGrad(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    auto argv = argsOf(env, info, 4);
    const int32_t* raw = typed<int32_t>(env, argv[0], napi_int32_array, osteon::kPoolGeomLen, "geometry");
    osteon::PoolGeom g;
    std::copy(raw, raw + osteon::kPoolGeomLen, &g.n);
    const int* all = &g.n;
    for (int i = 0; i < osteon::kPoolGeomLen; i++) {
      if (i < 14 ? all[i] < 1 : all[i] < 0) throw JsError("pool geometry value " + std::to_string(i) + " out of range");
    }
    const int64_t xs = int64_t(g.n) * g.d * g.h * g.w * g.c, ys = int64_t(g.n) * g.od * g.oh * g.ow * g.c;
    osteon::maxPoolGrad(g, f32(env, argv[1], xs, "x"), f32(env, argv[2], ys, "dy"), f32(env, argv[3], xs, "dx"));
    return undefinedValue(env);
  });
}

std::vector<int64_t> widthsOf(napi_env env, napi_value arr) {
  uint32_t n;
  check(env, napi_get_array_length(env, arr, &n));
  std::vector<int64_t> w(n);
  for (uint32_t i = 0; i < n; i++) {
    napi_value v;
    check(env, napi_get_element(env, arr, i, &v));
    w[i] = num(env, v);
    if (w[i] < 0) throw JsError("negative width");
  }
  return w;
}

std::vector<float*> piecesOf(napi_env env, napi_value arr, int64_t outer, const std::vector<int64_t>& widths) {
  uint32_t n;
  check(env, napi_get_array_length(env, arr, &n));
  if (n != widths.size()) throw JsError("pieces and widths differ in length");
  std::vector<float*> p(n);
  for (uint32_t i = 0; i < n; i++) {
    napi_value v;
    check(env, napi_get_element(env, arr, i, &v));
    p[i] = f32(env, v, outer * widths[i], "piece");
  }
  return p;
}

int64_t sum(const std::vector<int64_t>& v) {
  int64_t s = 0;
  for (auto x : v) s += x;
  return s;
}

// concatRows(outer, pieces[], widths[], dst)
napi_value ConcatRows(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    auto argv = argsOf(env, info, 4);
    const int64_t outer = num(env, argv[0]);
    auto widths = widthsOf(env, argv[2]);
    auto pieces = piecesOf(env, argv[1], outer, widths);
    float* dst = f32(env, argv[3], outer * sum(widths), "dst");
    osteon::concatRows(outer, int(pieces.size()), pieces.data(), widths.data(), dst);
    return undefinedValue(env);
  });
}

// splitRows(outer, src, widths[], pieces[])
napi_value SplitRows(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    auto argv = argsOf(env, info, 4);
    const int64_t outer = num(env, argv[0]);
    auto widths = widthsOf(env, argv[2]);
    const float* src = f32(env, argv[1], outer * sum(widths), "src");
    auto pieces = piecesOf(env, argv[3], outer, widths);
    osteon::splitRows(outer, int(pieces.size()), src, widths.data(), pieces.data());
    return undefinedValue(env);
  });
}

// sumRows(rows, cols, x, out)
napi_value SumRows(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    auto argv = argsOf(env, info, 4);
    const int64_t rows = num(env, argv[0]), cols = num(env, argv[1]);
    if (rows < 0 || cols < 1) throw JsError("sumRows: bad size");
    osteon::sumRows(rows, cols, f32(env, argv[2], rows * cols, "x"), f32(env, argv[3], cols, "out"));
    return undefinedValue(env);
  });
}

// slice(inShape[], begin[], size[], src, dst)
napi_value Slice(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    auto argv = argsOf(env, info, 5);
    auto shape = widthsOf(env, argv[0]), begin = widthsOf(env, argv[1]), size = widthsOf(env, argv[2]);
    const size_t rank = shape.size();
    if (rank < 1 || begin.size() != rank || size.size() != rank) throw JsError("slice: shape, begin and size differ in rank");
    int64_t in = 1, out = 1;
    for (size_t d = 0; d < rank; d++) {
      if (size[d] < 1 || begin[d] + size[d] > shape[d]) throw JsError("slice: out of bounds");
      in *= shape[d];
      out *= size[d];
    }
    osteon::sliceNd(int(rank), shape.data(), begin.data(), size.data(), f32(env, argv[3], in, "src"), f32(env, argv[4], out, "dst"));
    return undefinedValue(env);
  });
}

// binaryRows(op, rows, cols, a, b, out)
napi_value BinaryRows(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    auto argv = argsOf(env, info, 6);
    const int64_t op = num(env, argv[0]), rows = num(env, argv[1]), cols = num(env, argv[2]);
    if ((op != 0 && op != 1) || rows < 1 || cols < 1) throw JsError("binaryRows: bad arguments");
    osteon::binaryRows(int(op), rows, cols, f32(env, argv[3], rows * cols, "a"), f32(env, argv[4], cols, "b"), f32(env, argv[5], rows * cols, "out"));
    return undefinedValue(env);
  });
}

// transposed convolution + bias (deconv.cc)
// deconv(op 0 | 2, geometry of the conv big -> small, a, b, out, bias)
napi_value Deconv(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    auto argv = argsOf(env, info, 6);
    const int op = int(num(env, argv[0]));
    const osteon::ConvGeom g = convGeom(env, argv[1]);
    if (g.flags != osteon::kBias) throw JsError("deconv: flags must be bias only");
    const int64_t big = int64_t(g.n) * g.d * g.h * g.w * g.c, ws = int64_t(g.kd) * g.kh * g.kw * g.c * g.co;
    const int64_t small = int64_t(g.n) * g.od * g.oh * g.ow * g.co;
    if (op != osteon::kForward && op != osteon::kBackwardWeights) throw JsError("deconv: op must be 0 or 2");
    const bool fwd = op == osteon::kForward;
    osteon::ConvBuffers b{f32(env, argv[2], small, "x"), f32(env, argv[3], fwd ? ws : big, fwd ? "filter" : "dy"), f32(env, argv[4], fwd ? big : ws, "out"),
                          f32(env, argv[5], g.c, "bias")};
    osteon::runDeconv(op, g, b);
    return undefinedValue(env);
  });
}

// deconvImpl(op, geometry): the oneDNN implementation chosen.
napi_value DeconvImpl(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    auto argv = argsOf(env, info, 2);
    return str(env, osteon::deconvImplOf(int(num(env, argv[0])), convGeom(env, argv[1])));
  });
}
// end of transposed convolution + bias

// fused loss and Adam (loss.cc, adam.cc)
// lossFused(dims Int32Array[10] {m, c, s, bceC0, bceN, ceC0, ceK, diceSigFrom, diceSoftFrom, 0},
//           params Float64Array[5] {a, b, c, smoothNr, smoothDr}, logits, targets | null,
//           labels Int32Array | null, posWeight | null, classWeight | null, grad | null, out Float64Array[3])
napi_value LossFused(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    auto argv = argsOf(env, info, 9);
    const int32_t* d = typed<int32_t>(env, argv[0], napi_int32_array, 10, "dims");
    const double* q = typed<double>(env, argv[1], napi_float64_array, 5, "params");
    osteon::LossSpec s{d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7], d[8], q[0], q[1], q[2], q[3], q[4]};
    if (s.m < 1 || s.c < 1 || s.s < 1 || s.m % s.s != 0) throw JsError("lossFused: bad m, c or s");
    if (s.bceN < 0 || s.ceK < 0 || s.bceC0 < 0 || s.ceC0 < 0 || s.bceC0 + s.bceN > s.c || s.ceC0 + s.ceK > s.c) throw JsError("lossFused: channel ranges out of bounds");
    if (s.ceK == 1) throw JsError("lossFused: CE needs >= 2 classes");
    if (s.diceSigFrom >= s.bceN && s.bceN > 0) throw JsError("lossFused: diceSigFrom out of range");
    if (s.diceSoftFrom >= s.ceK && s.ceK > 0) throw JsError("lossFused: diceSoftFrom out of range");
    napi_valuetype t;
    auto isNull = [&](napi_value v) { check(env, napi_typeof(env, v, &t)); return t == napi_null || t == napi_undefined; };
    const float* logits = f32(env, argv[2], s.m * s.c, "logits");
    const float* targets = s.bceN > 0 ? f32(env, argv[3], s.m * s.bceN, "targets") : nullptr;
    const int32_t* labels = s.ceK > 0 ? typed<int32_t>(env, argv[4], napi_int32_array, s.m, "labels") : nullptr;
    const float* pw = s.bceN > 0 ? f32(env, argv[5], s.bceN, "posWeight") : nullptr;
    const float* cw = s.ceK > 0 && !isNull(argv[6]) ? f32(env, argv[6], s.ceK, "classWeight") : nullptr;
    float* grad = isNull(argv[7]) ? nullptr : f32(env, argv[7], s.m * s.c, "grad");
    double* out = typed<double>(env, argv[8], napi_float64_array, 3, "out");
    if (labels) {
      for (int64_t i = 0; i < s.m; i++)
        if (labels[i] < 0 || labels[i] >= s.ceK) throw JsError("lossFused: label " + std::to_string(labels[i]) + " outside 0.." + std::to_string(s.ceK - 1));
    }
    osteon::lossFused(s, logits, targets, labels, pw, cw, grad, out);
    return undefinedValue(env);
  });
}

// adamFused(w[], g[], m[], v[], wOut[], k Float32Array[8] {lr, b1, b2, eps, 1-b1, 1-b2, 1-accB1, 1-accB2})
napi_value AdamFused(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    auto argv = argsOf(env, info, 6);
    uint32_t n;
    check(env, napi_get_array_length(env, argv[0], &n));
    std::vector<int64_t> sizes(n);
    std::vector<const float*> w(n), g(n);
    std::vector<float*> m(n), v(n), o(n);
    for (int a = 1; a < 5; a++) {
      uint32_t k;
      check(env, napi_get_array_length(env, argv[a], &k));
      if (k != n) throw JsError("adamFused: arrays differ in length");
    }
    for (uint32_t i = 0; i < n; i++) {
      napi_value e;
      check(env, napi_get_element(env, argv[0], i, &e));
      napi_typedarray_type type;
      size_t len;
      void* data;
      check(env, napi_get_typedarray_info(env, e, &type, &len, &data, nullptr, nullptr));
      if (type != napi_float32_array) throw JsError("adamFused: w: expected Float32Array");
      sizes[i] = int64_t(len);
      w[i] = static_cast<const float*>(data);
      napi_value x;
      check(env, napi_get_element(env, argv[1], i, &x));
      g[i] = f32(env, x, sizes[i], "g");
      check(env, napi_get_element(env, argv[2], i, &x));
      m[i] = f32(env, x, sizes[i], "m");
      check(env, napi_get_element(env, argv[3], i, &x));
      v[i] = f32(env, x, sizes[i], "v");
      check(env, napi_get_element(env, argv[4], i, &x));
      o[i] = f32(env, x, sizes[i], "wOut");
    }
    const float* k = f32(env, argv[5], 8, "k");
    osteon::adamFused(int(n), sizes.data(), w.data(), g.data(), m.data(), v.data(), o.data(), k);
    return undefinedValue(env);
  });
}
// end of the fused loss and Adam
// whole-volume inference, sliding windows blended into a slab (accumulate.cc).
std::vector<float*> channelsOf(napi_env env, napi_value arr, int want, int64_t len, const char* what) {
  uint32_t n;
  check(env, napi_get_array_length(env, arr, &n));
  if (int(n) != want) throw JsError(std::string(what) + ": expected " + std::to_string(want) + " arrays, got " + std::to_string(n));
  std::vector<float*> p(n);
  for (uint32_t i = 0; i < n; i++) {
    napi_value v;
    check(env, napi_get_element(env, arr, i, &v));
    p[i] = f32(env, v, len, what);
  }
  return p;
}

// accumulateWindows(geometry, windows, values, weights | null, acc[], wsum)
napi_value AccumulateWindows(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    auto argv = argsOf(env, info, 6);
    const int32_t* raw = typed<int32_t>(env, argv[0], napi_int32_array, osteon::kAccumGeomLen, "geometry");
    osteon::AccumGeom g;
    std::copy(raw, raw + osteon::kAccumGeomLen, &g.c);
    const int* all = &g.c;
    for (int i = 0; i < osteon::kAccumGeomLen; i++) {
      const bool zeroOk = i == 2 || (i >= 6 && i <= 8) || i == 12;  // head, axes, window count
      if (zeroOk ? all[i] < 0 : all[i] < 1) throw JsError("accumulate geometry value " + std::to_string(i) + " out of range");
    }
    if (g.a0 > 2 || g.a1 > 2 || g.a2 > 2 || g.a0 == g.a1 || g.a1 == g.a2 || g.a0 == g.a2) throw JsError("accumulate: axes must be a permutation of 0, 1, 2");
    if (osteon::structuresOf(g.head, g.c) != g.s) throw JsError("accumulate: structures do not match the head");
    const int64_t blockVox = int64_t(g.s0) * g.s1 * g.s2, slab = int64_t(g.d0) * g.d1 * g.d2;
    const int32_t* windows = typed<int32_t>(env, argv[1], napi_int32_array, int64_t(g.windows) * osteon::kWindowLen, "windows");
    const float* values = f32(env, argv[2], int64_t(g.windows) * blockVox * g.c, "values");
    napi_valuetype wt;
    check(env, napi_typeof(env, argv[3], &wt));
    const float* weights = wt == napi_null || wt == napi_undefined ? nullptr : f32(env, argv[3], blockVox, "weights");
    auto acc = channelsOf(env, argv[4], g.s, slab, "acc");
    osteon::accumulateWindows(g, windows, values, weights, acc.data(), f32(env, argv[5], slab, "wsum"));
    return undefinedValue(env);
  });
}

// normalizeWeights(n, acc[], wsum)
napi_value NormalizeWeights(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    auto argv = argsOf(env, info, 3);
    const int64_t n = num(env, argv[0]);
    uint32_t s;
    check(env, napi_get_array_length(env, argv[1], &s));
    if (n < 0 || s < 1) throw JsError("normalizeWeights: bad size");
    auto acc = channelsOf(env, argv[1], int(s), n, "acc");
    osteon::normalizeWeights(int(s), n, acc.data(), f32(env, argv[2], n, "wsum"));
    return undefinedValue(env);
  });
}

// thresholdSlab(kind 0 sigmoid | 1 joint | 2 softmax, hasWhole, probs Float32Array[], thresholds
// Float64Array, masks Uint8Array[], at): predict.ts binarizeInto on every thread, the same rule
// and the same double arithmetic (JS numbers): sigmoid channels p >= t; parts by the first maximum
// over 1 - Σ parts and the parts; a joint head's whole by its threshold, a softmax head's whole as
// the union of its parts. Writes masks[k][at, at + n).
napi_value ThresholdSlab(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    auto argv = argsOf(env, info, 6);
    int32_t kind;
    bool hasWhole;
    int64_t at;
    check(env, napi_get_value_int32(env, argv[0], &kind));
    check(env, napi_get_value_bool(env, argv[1], &hasWhole));
    check(env, napi_get_value_int64(env, argv[5], &at));
    if (kind < 0 || kind > 2) throw JsError("thresholdSlab: kind 0, 1 or 2");
    uint32_t np, nm;
    check(env, napi_get_array_length(env, argv[2], &np));
    check(env, napi_get_array_length(env, argv[4], &nm));
    if (np < 1 || np > 64 || nm != np) throw JsError("thresholdSlab: one mask per probability array");
    std::vector<const float*> p(np);
    std::vector<uint8_t*> m(np);
    size_t n = 0;
    for (uint32_t k = 0; k < np; k++) {
      napi_value e;
      size_t len;
      check(env, napi_get_element(env, argv[2], k, &e));
      p[k] = osteon::napi::typedArray<float>(env, e, napi_float32_array, &len, "probs");
      if (k == 0) n = len;
      if (len != n) throw JsError("thresholdSlab: probability arrays of different lengths");
      check(env, napi_get_element(env, argv[4], k, &e));
      m[k] = osteon::napi::typedArray<uint8_t>(env, e, napi_uint8_array, &len, "masks");
      if (at < 0 || int64_t(len) < at + int64_t(n)) throw JsError("thresholdSlab: mask too short");
      m[k] += at;
    }
    size_t nt;
    const double* t = osteon::napi::typedArray<double>(env, argv[3], napi_float64_array, &nt, "thresholds");
    if (nt < np) throw JsError("thresholdSlab: one threshold per structure");
    osteon::thresholdSlab(kind, hasWhole, int(np), p.data(), t, m.data(), int64_t(n));
    return undefinedValue(env);
  });
}

// end of whole-volume blending

napi_value SetNumThreads(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    auto argv = argsOf(env, info, 1);
    const int64_t n = num(env, argv[0]);
    if (n < 1 || n > 1024) throw JsError("setNumThreads: expected 1..1024");
    omp_set_num_threads(int(n));
    return undefinedValue(env);
  });
}

napi_value NumThreads(napi_env env, napi_callback_info) {
  napi_value v;
  napi_create_int32(env, omp_get_max_threads(), &v);
  return v;
}

napi_value Version(napi_env env, napi_callback_info) {
  return guarded(env, [&] {
    const dnnl_version_t* v = dnnl_version();
    return str(env, std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch) + " (" + v->hash + ", cpu runtime " +
                        (v->cpu_runtime == DNNL_RUNTIME_OMP ? "OpenMP" : "other") + ")");
  });
}

// ---- Fused network kernels (fused.cc, pool.cc) ----

osteon::PoolGeom poolGeom(napi_env env, napi_value v) {
  const int32_t* raw = typed<int32_t>(env, v, napi_int32_array, osteon::kPoolGeomLen, "geometry");
  osteon::PoolGeom g;
  std::copy(raw, raw + osteon::kPoolGeomLen, &g.n);
  const int* all = &g.n;
  for (int i = 0; i < osteon::kPoolGeomLen; i++) {
    if (i < 14 ? all[i] < 1 : all[i] < 0) throw JsError("pool geometry value " + std::to_string(i) + " out of range");
  }
  return g;
}

// reluBiasGrad(rows, cols, y, dy, dyOut, dbias | null)
napi_value ReluBiasGrad(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    auto argv = argsOf(env, info, 6);
    const int64_t rows = num(env, argv[0]), cols = num(env, argv[1]);
    if (rows < 1 || cols < 1) throw JsError("reluBiasGrad: bad size");
    napi_valuetype t;
    check(env, napi_typeof(env, argv[5], &t));
    float* db = t == napi_null || t == napi_undefined ? nullptr : f32(env, argv[5], cols, "dbias");
    osteon::reluBiasGrad(rows, cols, f32(env, argv[2], rows * cols, "y"), f32(env, argv[3], rows * cols, "dy"), f32(env, argv[4], rows * cols, "dyOut"), db);
    return undefinedValue(env);
  });
}

// reluBiasGradInPlace(rows, cols, y, g, dbias | null): reluBiasGrad with dyOut = dy = g (fused.h).
napi_value ReluBiasGradInPlace(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    auto argv = argsOf(env, info, 5);
    const int64_t rows = num(env, argv[0]), cols = num(env, argv[1]);
    if (rows < 1 || cols < 1) throw JsError("reluBiasGradInPlace: bad size");
    napi_valuetype t;
    check(env, napi_typeof(env, argv[4], &t));
    float* db = t == napi_null || t == napi_undefined ? nullptr : f32(env, argv[4], cols, "dbias");
    float* g = f32(env, argv[3], rows * cols, "g");
    osteon::reluBiasGrad(rows, cols, f32(env, argv[2], rows * cols, "y"), g, g, db);
    return undefinedValue(env);
  });
}

// maxPool(geometry, x, y)
napi_value MaxPool(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    auto argv = argsOf(env, info, 3);
    const osteon::PoolGeom g = poolGeom(env, argv[0]);
    const int64_t xs = int64_t(g.n) * g.d * g.h * g.w * g.c, ys = int64_t(g.n) * g.od * g.oh * g.ow * g.c;
    osteon::maxPoolForward(g, f32(env, argv[1], xs, "x"), f32(env, argv[2], ys, "y"));
    return undefinedValue(env);
  });
}

// maxPoolImpl(geometry): the oneDNN implementation chosen.
napi_value MaxPoolImpl(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    auto argv = argsOf(env, info, 1);
    return str(env, osteon::poolImplOf(poolGeom(env, argv[0])));
  });
}

// maxPoolGradV(geometry, x, dy, dx, lastMax): vectorised; lastMax picks the last maximum of a tie.
// maxPoolGradAdd(geometry, x, dy, dx, lastMax, add): dx = add (x's shape) + the same gradient, in
// one pass. A function of its own, so JS can tell an addon built before it (typeof check).
static napi_value maxPoolGradCall(napi_env env, napi_callback_info info, bool withAdd) {
  return guarded(env, [&] {
    auto argv = argsOf(env, info, withAdd ? 6 : 5);
    const osteon::PoolGeom g = poolGeom(env, argv[0]);
    const int64_t xs = int64_t(g.n) * g.d * g.h * g.w * g.c, ys = int64_t(g.n) * g.od * g.oh * g.ow * g.c;
    bool lastMax = false;
    check(env, napi_get_value_bool(env, argv[4], &lastMax));
    const float* add = withAdd ? f32(env, argv[5], xs, "add") : nullptr;
    osteon::maxPoolGradVector(g, f32(env, argv[1], xs, "x"), f32(env, argv[2], ys, "dy"), f32(env, argv[3], xs, "dx"), lastMax, add);
    return undefinedValue(env);
  });
}

napi_value MaxPoolGradV(napi_env env, napi_callback_info info) {
  return maxPoolGradCall(env, info, false);
}

napi_value MaxPoolGradAdd(napi_env env, napi_callback_info info) {
  return maxPoolGradCall(env, info, true);
}

// softmax(rows, cols, x, y): over the last axis.
napi_value Softmax(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    auto argv = argsOf(env, info, 4);
    const int64_t rows = num(env, argv[0]), cols = num(env, argv[1]);
    if (rows < 1 || cols < 1) throw JsError("softmax: bad size");
    osteon::softmaxRows(rows, cols, f32(env, argv[2], rows * cols, "x"), f32(env, argv[3], rows * cols, "y"));
    return undefinedValue(env);
  });
}

// ---- end of fused network kernels ----

napi_value Init(napi_env env, napi_value exports) {
  const napi_property_descriptor props[] = {
      {"conv", nullptr, Conv, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"convImpl", nullptr, ConvImpl, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"maxPoolGrad", nullptr, MaxPoolGrad, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"concatRows", nullptr, ConcatRows, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"splitRows", nullptr, SplitRows, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"slice", nullptr, Slice, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"binaryRows", nullptr, BinaryRows, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"sumRows", nullptr, SumRows, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"setNumThreads", nullptr, SetNumThreads, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"numThreads", nullptr, NumThreads, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"version", nullptr, Version, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      // fused network kernels (fused.cc, pool.cc)
      {"reluBiasGrad", nullptr, ReluBiasGrad, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"maxPool", nullptr, MaxPool, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"maxPoolGradV", nullptr, MaxPoolGradV, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"maxPoolGradAdd", nullptr, MaxPoolGradAdd, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"maxPoolImpl", nullptr, MaxPoolImpl, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"softmax", nullptr, Softmax, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      // fused loss and Adam (loss.cc, adam.cc)
      {"lossFused", nullptr, LossFused, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"adamFused", nullptr, AdamFused, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      // transposed convolution + bias (deconv.cc)
      {"deconv", nullptr, Deconv, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"deconvImpl", nullptr, DeconvImpl, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"accumulateWindows", nullptr, AccumulateWindows, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"normalizeWeights", nullptr, NormalizeWeights, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"thresholdSlab", nullptr, ThresholdSlab, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      // the native training step (fused.cc reluBiasGrad in place)
      {"reluBiasGradInPlace", nullptr, ReluBiasGradInPlace, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  osteon::registerInferNet(env, exports);  // whole-network inference (infer_net.cc)
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
