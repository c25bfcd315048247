/* CRC-32C, two implementations behind one entry point.
 *
 * Representation: the CRC register is "reflected": bit i holds the coefficient of x^(31-i), and
 * message bytes enter least significant bit first. Internally we work on the raw register
 * (pre-/post-inversion removed), which is linear in the message; that linearity is what lets the
 * hardware path run three independent streams and merge them.
 *
 * Hardware path (SSE4.2): the CRC32 instruction has a latency of about 3 cycles but a throughput
 * of one per cycle, so a single dependency chain uses a third of the unit. We split a block into
 * three equal parts A, B, C, run them as three chains (B and C starting from a zero register) and
 * combine:  reg(A||B||C) = shift(shift(regA) ^ regB) ^ regC,  where shift multiplies by
 * x^(8*part_bytes) mod P. shift is linear, so it is done with four 256-entry tables per part size.
 */
#include "crc32c.h"

#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <nmmintrin.h>
#define CRC32C_HAVE_SSE42 1
#endif

#define POLY 0x82F63B78u

/* Part sizes for the three-stream loop: long parts for big buffers, short ones so a 4 KiB
 * buffer still gets most of the interleaving benefit. */
#define LONG_PART_BYTES 8192
#define SHORT_PART_BYTES 256

static uint32_t table[8][256];
static uint32_t shift_long[4][256];
static uint32_t shift_short[4][256];
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

/* a * b mod P, both reflected. Walks a's coefficients from x^0 (bit 31) upwards while b is
 * multiplied by x at each step. Only used at init. */
static uint32_t gf2_mul(uint32_t a, uint32_t b) {
  uint32_t product = 0;
  for (int bit = 31; bit >= 0; bit--) {
    if ((a >> bit) & 1) product ^= b;
    b = (b & 1) ? (b >> 1) ^ POLY : b >> 1;
  }
  return product;
}

/* x^(8*bytes) mod P, reflected. */
static uint32_t x_pow_bytes(size_t bytes) {
  uint32_t v = 0x80000000u; /* the polynomial 1 */
  for (size_t i = 0; i < 8 * bytes; i++) v = (v & 1) ? (v >> 1) ^ POLY : v >> 1;
  return v;
}

static void build_shift_table(uint32_t out[4][256], size_t part_bytes) {
  uint32_t k = x_pow_bytes(part_bytes);
  for (int lane = 0; lane < 4; lane++) {
    for (uint32_t b = 0; b < 256; b++) out[lane][b] = gf2_mul(b << (8 * lane), k);
  }
}

static inline uint32_t shift(const uint32_t t[4][256], uint32_t reg) {
  return t[0][reg & 0xff] ^ t[1][(reg >> 8) & 0xff] ^ t[2][(reg >> 16) & 0xff] ^ t[3][reg >> 24];
}

void sediment_crc32c_init(bool use_sse42) {
  for (uint32_t b = 0; b < 256; b++) {
    uint32_t reg = b;
    for (int i = 0; i < 8; i++) reg = (reg & 1) ? (reg >> 1) ^ POLY : reg >> 1;
    table[0][b] = reg;
  }
  for (uint32_t b = 0; b < 256; b++) {
    for (int k = 1; k < 8; k++) table[k][b] = (table[k - 1][b] >> 8) ^ table[0][table[k - 1][b] & 0xff];
  }
  build_shift_table(shift_long, LONG_PART_BYTES);
  build_shift_table(shift_short, SHORT_PART_BYTES);
#ifdef CRC32C_HAVE_SSE42
  use_hw = use_sse42;
#else
  (void)use_sse42;
  use_hw = false;
#endif
}

static uint32_t reg_table(uint32_t reg, const uint8_t *p, size_t n) {
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

#ifdef CRC32C_HAVE_SSE42
/* One block of 3 * part_bytes (part_bytes a multiple of 8). */
__attribute__((target("sse4.2"), always_inline)) static inline uint64_t
three_streams(uint64_t reg, const uint8_t *p, size_t part_bytes, const uint32_t t[4][256]) {
  uint64_t a = reg, b = 0, c = 0;
  const uint8_t *end = p + part_bytes;
  do {
    a = _mm_crc32_u64(a, load_le64(p));
    b = _mm_crc32_u64(b, load_le64(p + part_bytes));
    c = _mm_crc32_u64(c, load_le64(p + 2 * part_bytes));
    p += 8;
  } while (p < end);
  uint32_t ab = shift(t, (uint32_t)a) ^ (uint32_t)b;
  return shift(t, ab) ^ (uint32_t)c;
}

__attribute__((target("sse4.2"))) static uint32_t reg_sse42(uint32_t reg32, const uint8_t *p, size_t n) {
  uint64_t reg = reg32;
  while (n >= 3 * LONG_PART_BYTES) {
    reg = three_streams(reg, p, LONG_PART_BYTES, shift_long);
    p += 3 * LONG_PART_BYTES;
    n -= 3 * LONG_PART_BYTES;
  }
  while (n >= 3 * SHORT_PART_BYTES) {
    reg = three_streams(reg, p, SHORT_PART_BYTES, shift_short);
    p += 3 * SHORT_PART_BYTES;
    n -= 3 * SHORT_PART_BYTES;
  }
  while (n >= 8) {
    reg = _mm_crc32_u64(reg, load_le64(p));
    p += 8;
    n -= 8;
  }
  uint32_t r = (uint32_t)reg;
  while (n--) r = _mm_crc32_u8(r, *p++);
  return r;
}
#endif

uint32_t sediment_crc32c_table(uint32_t prev, const uint8_t *p, size_t n) {
  return ~reg_table(~prev, p, n);
}

uint32_t sediment_crc32c(uint32_t prev, const uint8_t *p, size_t n) {
#ifdef CRC32C_HAVE_SSE42
  if (use_hw) return ~reg_sse42(~prev, p, n);
#endif
  return ~reg_table(~prev, p, n);
}
