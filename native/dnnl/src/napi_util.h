// Small N-API helpers shared by the addon's entry points (addon.cc, infer_net.cc): argument
// checks that throw JsError, and `guarded`, which turns C++ and oneDNN errors into JS exceptions.
#pragma once

#include <node_api.h>
#include <oneapi/dnnl/dnnl.hpp>

#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

namespace osteon::napi {

struct JsError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

inline void ok(napi_status s) {
  if (s != napi_ok) throw JsError("N-API call failed");
}

inline std::vector<napi_value> args(napi_env env, napi_callback_info info, size_t want) {
  std::vector<napi_value> argv(want);
  size_t argc = want;
  ok(napi_get_cb_info(env, info, &argc, argv.data(), nullptr, nullptr));
  if (argc < want) throw JsError("expected " + std::to_string(want) + " arguments");
  return argv;
}

/** A typed array's data, checked for type; its length goes to *len. */
template <typename T>
T* typedArray(napi_env env, napi_value v, napi_typedarray_type want, size_t* len, const char* what) {
  bool is = false;
  ok(napi_is_typedarray(env, v, &is));
  if (!is) throw JsError(std::string(what) + ": expected a typed array");
  napi_typedarray_type type;
  void* data;
  ok(napi_get_typedarray_info(env, v, &type, len, &data, nullptr, nullptr));
  if (type != want) throw JsError(std::string(what) + ": wrong typed array type");
  return static_cast<T*>(data);
}

/** Runs body; a C++ or oneDNN exception becomes a JS error (code OSTEON_DNNL) and nullptr. */
template <typename F>
napi_value guarded(napi_env env, F body) {
  try {
    return body();
  } catch (const dnnl::error& e) {
    napi_throw_error(env, "OSTEON_DNNL", (std::string("oneDNN: ") + e.what()).c_str());
  } catch (const std::exception& e) {
    napi_throw_error(env, "OSTEON_DNNL", e.what());
  }
  return nullptr;
}

inline napi_value string(napi_env env, const std::string& s) {
  napi_value v;
  ok(napi_create_string_utf8(env, s.c_str(), s.size(), &v));
  return v;
}

}  // namespace osteon::napi
