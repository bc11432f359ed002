{
  "targets": [
    {
      "target_name": "sluice_redact",
      "sources": ["redact/native/collector.cc", "redact/native/checks.cc"],
      "include_dirs": ["node_modules/re2/vendor/re2", "node_modules/re2/vendor/abseil-cpp"],
      "defines": ["NDEBUG", "NOMINMAX", "NAPI_VERSION=8"],
      "cflags_cc": ["-std=c++2a", "-O3", "-ffp-contract=off", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-missing-field-initializers"],
      "cflags_cc!": ["-std=gnu++17", "-fno-exceptions"],
      "libraries": [
        "-L<(module_root_dir)/node_modules/re2/build/Release",
        "-l:re2.node",
        "-Wl,-rpath,'$$ORIGIN/../../node_modules/re2/build/Release'"
      ]
    },
    {
      "target_name": "sluice_literals",
      "sources": ["core/native/literals.cc"],
      "defines": ["NDEBUG", "NAPI_VERSION=8"],
      "cflags_cc": ["-O3", "-Wall", "-Wextra"]
    },
    {
      "target_name": "sluice_heap",
      "sources": ["core/native/heap.cc"],
      "defines": ["NDEBUG"],
      "cflags_cc": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-cast-function-type"]
    }
  ]
}
