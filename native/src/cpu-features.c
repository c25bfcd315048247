/* Reads CPUID leaf 1 directly (rather than __builtin_cpu_supports) so the same code works with
 * GCC and Clang of any age. SSE state is always enabled by x86-64 operating systems, so no XGETBV
 * check is needed for these (non-AVX) instructions. */
#include "cpu-features.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>

void sediment_cpu_detect(struct sediment_cpu_features *out) {
  unsigned int eax = 0, ebx = 0, ecx = 0, edx = 0;
  out->sse42 = false;
  out->sse41 = false;
  out->pclmul = false;
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return;
  out->pclmul = (ecx >> 1) & 1;
  out->sse41 = (ecx >> 19) & 1;
  out->sse42 = (ecx >> 20) & 1;
}

#else

void sediment_cpu_detect(struct sediment_cpu_features *out) {
  out->sse42 = false;
  out->sse41 = false;
  out->pclmul = false;
}

#endif
