// Kernels that fuse what tfjs runs as separate passes (see fused.cc, pool.cc).
#pragma once
#include <cstdint>
#include <string>

#include "memops.h"

namespace osteon {

// The backward of y = relu(conv(x) + bias) up to the convolution: dyOut = dy * (y > 0), and
// dbias[j] = sum over rows of dyOut[row, j] (when dbias is not null), in one pass over memory.
// `rows` x `cols` channels-last (cols = the conv's output channels).
// dyOut may be dy: the native training step (app/learning/native/net-step.ts) masks its own
// gradient buffers in place, which spares the write-allocate reads of a separate output (measured
// for [4,128,128,16] on 2 threads: 0.32 ms against 0.51 ms); the bits are the same either way.
void reluBiasGrad(int64_t rows, int64_t cols, const float* y, const float* dy, float* dyOut, float* dbias);

// Softmax over the last axis of `rows` rows of `cols` values (max-subtracted, as tfjs does).
void softmaxRows(int64_t rows, int64_t cols, const float* x, float* y);

// Max pool forward on oneDNN's pooling primitive (channels-last, padding outside the input
// ignored as tfjs does); the primitive is cached per geometry.
void maxPoolForward(const PoolGeom& g, const float* x, float* y);
std::string poolImplOf(const PoolGeom& g);

// Max pool backward vectorised over channels (pool.cc). dy goes to the first maximum of each
// window (memops.cc's maxPoolGrad; tfjs's cpu backend in 2D) or, with lastMax, to the last one
// (tfjs's cpu backend in 3D).
void maxPoolGradVector(const PoolGeom& g, const float* x, const float* dy, float* dx, bool lastMax, const float* add = nullptr);

}  // namespace osteon
