{
  "targets": [
    {
      "target_name": "osteon_dnnl",
      "sources": ["src/addon.cc", "src/conv.cc", "src/memops.cc", "src/fused.cc", "src/pool.cc", "src/loss.cc", "src/adam.cc", "src/accumulate.cc", "src/deconv.cc", "src/infer_net.cc"],
      "defines": ["NAPI_VERSION=8"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc": ["-std=c++17", "-O3", "-fexceptions", "-fopenmp", "-fno-math-errno"],
      "ldflags": ["-fopenmp", "-Wl,--disable-new-dtags", "-Wl,-rpath,'$$ORIGIN'", "-Wl,--no-as-needed"],
      "libraries": ["-ldnnl", "-lgomp", "-lOpenCL"]
    }
  ]
}
