// the training loss and Adam, fused and multi-threaded (loss.cc, adam.cc).
#pragma once
#include <cstdint>

namespace osteon {

// The loss of one head over logits [M, C] channels-last (M = N * S voxels, S per sample).
// Terms (a value for each present term; its gradient scaled by its weight a, b or cw):
//   BCE-with-logits on channels [bceC0, bceC0 + bceN) against targets [M, bceN], pos_weight[bceN]
//   CE on channels [ceC0, ceC0 + ceK) against labels [M] (0..ceK-1), class weights[ceK] or null
//   soft Dice (MONAI, per sample and channel, mean) over sigmoid(BCE channels from diceSigFrom)
//     and softmax(CE classes from diceSoftFrom); -1 = none of that kind
struct LossSpec {
  int64_t m, c, s;
  int bceC0, bceN, ceC0, ceK, diceSigFrom, diceSoftFrom;
  double a, b, cw, smoothNr, smoothDr;
};

// Writes out[0..2] = BCE, CE, Dice (NaN for a skipped term) and, when grad is not null,
// grad[M, C] = d(a*BCE + b*CE + cw*Dice)/d(logits) (channels in no term get 0).
void lossFused(const LossSpec& s, const float* logits, const float* targets, const int32_t* labels, const float* posWeight,
               const float* classWeight, float* grad, double* out);

// Adam as tf.train.adam (tfjs 4.22) computes it in float32, for every tensor in one call:
//   m' = m*b1 + g*(1-b1); v' = v*b2 + g*g*(1-b2); w' = (m'/omab1) / (sqrt(v'/omab2) + eps) * -lr + w
// m and v are updated in place; w' goes to wOut (w is read only). k = the float32 scalars
// {lr, b1, b2, eps, 1-b1, 1-b2, 1-accBeta1, 1-accBeta2}.
void adamFused(int tensors, const int64_t* sizes, const float* const* w, const float* const* g, float* const* m, float* const* v,
               float* const* wOut, const float* k);

}  // namespace osteon
