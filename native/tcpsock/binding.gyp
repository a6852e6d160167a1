{
  "targets": [
    {
      "target_name": "tcpsock",
      "sources": ["tcpsock.c"],
      "include_dirs": ["../common"],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-std=gnu11", "-Wall", "-Wextra", "-Wno-unused-parameter", "-O2"]
    }
  ]
}
