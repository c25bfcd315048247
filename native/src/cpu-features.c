/* Reads CPUID leaves 1 and 7 directly (rather than __builtin_cpu_supports) so the same code works with
 * GCC and Clang of any age. SSE state is always enabled by x86-64 operating systems, so no XGETBV
 * check is needed for the non-AVX instructions; AVX2 and AVX-512 count only when XCR0 says the OS
 * saves the YMM (bits 1, 2) and ZMM (bits 5, 6, 7) registers across context switches. */
#include "cpu-features.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#include <stddef.h>

void sediment_cpu_detect(struct sediment_cpu_features *out) {
  unsigned int eax = 0, ebx = 0, ecx = 0, edx = 0;
  out->sse42 = false;
  out->sse41 = false;
  out->pclmul = false;
  out->avx2 = false;
  out->avx512 = false;
  out->avx512vl = false;
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return;
  out->pclmul = (ecx >> 1) & 1;
  out->sse41 = (ecx >> 19) & 1;
  out->sse42 = (ecx >> 20) & 1;
  const bool osxsave = (ecx >> 27) & 1;
  if (!osxsave || __get_cpuid_max(0, NULL) < 7) return;
  unsigned int xcr0_lo = 0, xcr0_hi = 0;
  __asm__ volatile("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
  const bool ymm = (xcr0_lo & 0x6) == 0x6;
  const bool zmm = ymm && (xcr0_lo & 0xe0) == 0xe0;
  __cpuid_count(7, 0, eax, ebx, ecx, edx);
  out->avx2 = ymm && ((ebx >> 5) & 1);
  out->avx512 = zmm && out->avx2 && ((ebx >> 16) & 1);
  out->avx512vl = out->avx512 && ((ebx >> 31) & 1);
}

#else

void sediment_cpu_detect(struct sediment_cpu_features *out) {
  out->sse42 = false;
  out->sse41 = false;
  out->pclmul = false;
  out->avx2 = false;
  out->avx512 = false;
  out->avx512vl = false;
}

#endif
