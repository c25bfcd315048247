# Build description for the sediment native addon (plain C, Node-API only).
# Hardware CRC and multi-buffer MD5 paths are compiled per function with __attribute__((target(...))) and chosen at
# run time, so no -msse4.2 / -mpclmul / -mavx2 here: the .node file stays loadable on any x86-64 CPU.
{
  "targets": [
    {
      "target_name": "sediment_native",
      "sources": [
        "src/addon.c",
        "src/cpu-features.c",
        "src/crc32c.c",
        "src/crc64nvme.c",
        "src/file-lock.c",
        "src/pread-nowait.c",
        "src/exec-self.c",
        "src/malloc-tune.c",
        "src/log-writer.c",
        "src/md5-multi.c",
        "src/xxh64.c",
        "src/zstd-dict.c"
      ],
      "defines": ["NAPI_VERSION=8"],
      "libraries": ["-ldl"],
      "cflags_c": ["-std=gnu11", "-O3", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "xcode_settings": {
        "OTHER_CFLAGS": ["-std=gnu11", "-O3", "-Wall", "-Wextra", "-Wno-unused-parameter"]
      }
    }
  ]
}
