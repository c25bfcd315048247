/* CRC-64/NVME, two implementations behind one entry point.
 *
 * Representation: reflected, as for CRC-32C: in a 64-bit register bit i is the coefficient of
 * x^(63-i); a 16-byte block loaded little-endian into a 128-bit lane has bit j = message bit j =
 * coefficient of x^(127-j). We work on the raw register (no pre/post inversion), which is linear.
 *
 * Hardware path (PCLMULQDQ folding): the state is a 128-bit value V = H*x^64 + L standing for
 * "everything so far, still to be multiplied by x^(bits that follow)". Moving V forward over D
 * bits of later data needs V*x^D mod P = H*(x^(D+64) mod P) + L*(x^D mod P): two 64x64
 * carry-less multiplies, each fitting in 128 bits. A carry-less multiply of two reflected values
 * yields the reflected product times x, so the stored constants are x^(D+63) and x^(D-1) mod P.
 * Eight lanes (D = 1024 bits) hide the multiply latency; they are then folded into one (D = 128)
 * and the final 16 bytes are reduced with the table code, which computes exactly V*x^64 mod P.
 * Constants are computed at init from the polynomial rather than copied as magic numbers.
 */
#include "crc64nvme.h"

#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <smmintrin.h>
#include <wmmintrin.h>
#define CRC64_HAVE_CLMUL 1
#endif

#define POLY 0x9A6C9329AC4BC9B5ull

/* Below this many bytes the eight-lane setup and final reduction cost more than they save. */
#define CLMUL_MIN_BYTES 256

static uint64_t table[8][256];
static uint64_t fold1024_hi_k, fold1024_lo_k; /* x^(1024+63), x^(1024-1) mod P */
static uint64_t fold128_hi_k, fold128_lo_k;   /* x^(128+63),  x^(128-1)  mod P */
static bool use_hw = false;

static inline uint64_t load_le64(const uint8_t *p) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  uint64_t v;
  memcpy(&v, p, sizeof v);
  return v;
#else
  return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24 |
         (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 | (uint64_t)p[7] << 56;
#endif
}

/* x^bits mod P, reflected. */
static uint64_t x_pow(unsigned bits) {
  uint64_t v = 1ull << 63; /* the polynomial 1 */
  for (unsigned i = 0; i < bits; i++) v = (v & 1) ? (v >> 1) ^ POLY : v >> 1;
  return v;
}

void sediment_crc64nvme_init(bool use_pclmul) {
  for (uint64_t b = 0; b < 256; b++) {
    uint64_t reg = b;
    for (int i = 0; i < 8; i++) reg = (reg & 1) ? (reg >> 1) ^ POLY : reg >> 1;
    table[0][b] = reg;
  }
  for (int b = 0; b < 256; b++) {
    for (int k = 1; k < 8; k++) table[k][b] = (table[k - 1][b] >> 8) ^ table[0][table[k - 1][b] & 0xff];
  }
  fold1024_hi_k = x_pow(1024 + 63);
  fold1024_lo_k = x_pow(1024 - 1);
  fold128_hi_k = x_pow(128 + 63);
  fold128_lo_k = x_pow(128 - 1);
#ifdef CRC64_HAVE_CLMUL
  use_hw = use_pclmul;
#else
  (void)use_pclmul;
  use_hw = false;
#endif
}

static uint64_t reg_table(uint64_t reg, const uint8_t *p, size_t n) {
  while (n >= 8) {
    uint64_t w = load_le64(p) ^ reg;
    reg = table[7][w & 0xff] ^ table[6][(w >> 8) & 0xff] ^ table[5][(w >> 16) & 0xff] ^
          table[4][(w >> 24) & 0xff] ^ table[3][(w >> 32) & 0xff] ^ table[2][(w >> 40) & 0xff] ^
          table[1][(w >> 48) & 0xff] ^ table[0][w >> 56];
    p += 8;
    n -= 8;
  }
  while (n--) reg = table[0][(reg ^ *p++) & 0xff] ^ (reg >> 8);
  return reg;
}

#ifdef CRC64_HAVE_CLMUL
/* V*x^D mod P (up to congruence), k = {low: x^(D+63), high: x^(D-1)}. */
__attribute__((target("pclmul,sse4.1"), always_inline)) static inline __m128i fold(__m128i v, __m128i k) {
  return _mm_xor_si128(_mm_clmulepi64_si128(v, k, 0x00), _mm_clmulepi64_si128(v, k, 0x11));
}

__attribute__((target("pclmul,sse4.1"))) static uint64_t reg_clmul(uint64_t reg, const uint8_t *p, size_t n) {
  if (n < CLMUL_MIN_BYTES) return reg_table(reg, p, n);

  const __m128i k1024 = _mm_set_epi64x((long long)fold1024_lo_k, (long long)fold1024_hi_k);
  const __m128i k128 = _mm_set_epi64x((long long)fold128_lo_k, (long long)fold128_hi_k);
  __m128i lane[8];
  for (int i = 0; i < 8; i++) lane[i] = _mm_loadu_si128((const __m128i *)(p + 16 * i));
  /* The incoming register lines up with the first 64 message bits. */
  lane[0] = _mm_xor_si128(lane[0], _mm_cvtsi64_si128((long long)reg));
  p += 128;
  n -= 128;

  while (n >= 128) {
    for (int i = 0; i < 8; i++) {
      lane[i] = _mm_xor_si128(fold(lane[i], k1024), _mm_loadu_si128((const __m128i *)(p + 16 * i)));
    }
    p += 128;
    n -= 128;
  }

  __m128i acc = lane[0];
  for (int i = 1; i < 8; i++) acc = _mm_xor_si128(fold(acc, k128), lane[i]);
  while (n >= 16) {
    acc = _mm_xor_si128(fold(acc, k128), _mm_loadu_si128((const __m128i *)p));
    p += 16;
    n -= 16;
  }

  uint8_t last[16];
  _mm_storeu_si128((__m128i *)last, acc);
  return reg_table(reg_table(0, last, sizeof last), p, n);
}
#endif

uint64_t sediment_crc64nvme_table(uint64_t prev, const uint8_t *p, size_t n) {
  return ~reg_table(~prev, p, n);
}

uint64_t sediment_crc64nvme(uint64_t prev, const uint8_t *p, size_t n) {
#ifdef CRC64_HAVE_CLMUL
  if (use_hw) return ~reg_clmul(~prev, p, n);
#endif
  return ~reg_table(~prev, p, n);
}
