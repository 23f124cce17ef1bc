// Transposed convolution + bias on oneDNN's deconvolution primitive (see deconv.cc).
#pragma once
#include "conv.h"

namespace osteon {

// g is the geometry of the convolution whose backward data the transposed convolution is (as
// tfjs builds conv2dTranspose on Conv2DBackpropInput): c, d, h, w describe the transposed
// convolution's OUTPUT, co, od, oh, ow its INPUT; the filter is tfjs's [k..., c, co].
// forward (op kForward): a = x [n, od, oh, ow, co], b = filter, out = y [n, d, h, w, c],
//   bias [c] added (read)
// backward weights (op kBackwardWeights): a = x, b = dy [n, d, h, w, c], out = dfilter,
//   bias = dbias [c] (written): the filter and bias gradients in one primitive
// g.flags must be kBias (no ReLU).
void runDeconv(int op, const ConvGeom& g, const ConvBuffers& buf);
std::string deconvImplOf(int op, const ConvGeom& g);

}  // namespace osteon
