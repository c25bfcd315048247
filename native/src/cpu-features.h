/* CPU feature detection for the hardware CRC and multi-buffer MD5 paths. Detection happens once, at module load;
 * on non-x86-64 targets every flag is false and the portable table code is used. */
#ifndef SEDIMENT_CPU_FEATURES_H
#define SEDIMENT_CPU_FEATURES_H

#include <stdbool.h>

struct sediment_cpu_features {
  bool sse42;  /* CRC32 instruction (CRC-32C) */
  bool sse41;  /* needed alongside PCLMULQDQ by the CRC-64 folding code */
  bool pclmul; /* carry-less multiply (CRC-64/NVME folding) */
  bool avx2;   /* 256-bit integer vectors, with the OS saving YMM state (multi-buffer MD5) */
  bool avx512; /* AVX-512 F, with the OS saving ZMM state (multi-buffer MD5, 16 lanes) */
  bool avx512vl; /* AVX-512 VL as well: AVX-512 instructions on 256-bit registers (MD5, 8 lanes) */
};

void sediment_cpu_detect(struct sediment_cpu_features *out);

#endif
