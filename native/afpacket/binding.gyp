{
  "targets": [
    {
      "target_name": "afpacket",
      "sources": ["afpacket.c"],
      "include_dirs": ["../common"],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-std=gnu11", "-Wall", "-Wextra", "-Wno-unused-parameter", "-O2"]
    }
  ]
}
