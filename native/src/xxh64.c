/* XXH64, written from the algorithm's description (xxHash's doc/xxhash_spec.md): four accumulators over
 * 32-byte stripes, merged, then the remaining 8-, 4- and 1-byte pieces, then the avalanche. Little-endian
 * reads (memcpy, so unaligned input is fine). See xxh64.h for the contract. */
#include "xxh64.h"

#include <string.h>

#define P1 0x9E3779B185EBCA87ULL
#define P2 0xC2B2AE3D27D4EB4FULL
#define P3 0x165667B19E3779F9ULL
#define P4 0x85EBCA77C2B2AE63ULL
#define P5 0x27D4EB2F165667C5ULL

static inline uint64_t rotl64(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

static inline uint64_t read64(const uint8_t *p) {
  uint64_t v;
  memcpy(&v, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  v = __builtin_bswap64(v);
#endif
  return v;
}

static inline uint32_t read32(const uint8_t *p) {
  return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static inline uint64_t xround(uint64_t acc, uint64_t lane) {
  acc += lane * P2;
  acc = rotl64(acc, 31);
  return acc * P1;
}

static inline uint64_t merge(uint64_t h, uint64_t acc) {
  h ^= xround(0, acc);
  return h * P1 + P4;
}

uint64_t sediment_xxh64(const uint8_t *p, size_t n) {
  const uint8_t *const end = p + n;
  uint64_t h;
  if (n >= 32) {
    uint64_t a1 = P1 + P2, a2 = P2, a3 = 0, a4 = 0 - P1;
    const uint8_t *const last = end - 32;
    do {
      a1 = xround(a1, read64(p));
      a2 = xround(a2, read64(p + 8));
      a3 = xround(a3, read64(p + 16));
      a4 = xround(a4, read64(p + 24));
      p += 32;
    } while (p <= last);
    h = rotl64(a1, 1) + rotl64(a2, 7) + rotl64(a3, 12) + rotl64(a4, 18);
    h = merge(h, a1);
    h = merge(h, a2);
    h = merge(h, a3);
    h = merge(h, a4);
  } else {
    h = P5;
  }
  h += (uint64_t)n;
  for (; end - p >= 8; p += 8) {
    h ^= xround(0, read64(p));
    h = rotl64(h, 27) * P1 + P4;
  }
  if (end - p >= 4) {
    h ^= (uint64_t)read32(p) * P1;
    h = rotl64(h, 23) * P2 + P3;
    p += 4;
  }
  for (; p < end; p++) {
    h ^= (uint64_t)(*p) * P5;
    h = rotl64(h, 11) * P1;
  }
  h ^= h >> 33;
  h *= P2;
  h ^= h >> 29;
  h *= P3;
  h ^= h >> 32;
  return h;
}
