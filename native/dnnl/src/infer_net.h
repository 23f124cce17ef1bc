// The whole U-Net forward pass for inference in one call (infer_net.cc).
#pragma once
#include <node_api.h>

namespace osteon {

// Adds inferNetCreate, inferNetForward, inferNetImpl, inferNetRelease and cpuIsa to `exports`.
void registerInferNet(napi_env env, napi_value exports);

}  // namespace osteon
