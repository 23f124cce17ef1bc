// Convolution kernels on oneDNN for tfjs layouts (see conv.cc).
#pragma once
#include <oneapi/dnnl/dnnl.hpp>

#include <string>

namespace osteon {

enum ConvOp { kForward = 0, kBackwardData = 1, kBackwardWeights = 2 };
enum ConvFlags { kBias = 1, kRelu = 2 };

// The geometry as JS passes it (an Int32Array of kGeomLen values, in this order). 2D convs have
// nd = 2 and d = od = kd = sd = dd = 1, pf = pk = 0. Dilations count from 1 (tfjs).
struct ConvGeom {
  int nd, n, c, co;
  int d, h, w, od, oh, ow;
  int kd, kh, kw, sd, sh, sw, dd, dh, dw;
  int pf, pt, pl, pk, pb, pr;
  int flags;
};
constexpr int kGeomLen = 26;
static_assert(sizeof(ConvGeom) == kGeomLen * sizeof(int), "ConvGeom must be packed ints");

// forward: a = x, b = filter, out = y, bias = bias (read) when kBias
// backward data: a = dy, b = filter, out = dx
// backward weights: a = x, b = dy, out = dfilter, bias = dbias (written) when kBias
struct ConvBuffers {
  float* a;
  float* b;
  float* out;
  float* bias;
};

dnnl::engine& cpuEngine();
// This thread's stream and the scratchpad buffer shared by every primitive of this thread.
dnnl::stream& threadStream();
dnnl::memory threadScratchpad(const dnnl::primitive_desc& pd);
void runConv(int op, const ConvGeom& g, const ConvBuffers& buf);
std::string implOf(int op, const ConvGeom& g);

}  // namespace osteon
