/* MD5 of many messages at once: scalar, AVX2 (8 lanes), AVX-512VL (8 lanes) and AVX-512 (16 lanes) paths, and the
 * lane scheduler they share. See md5-multi.h for the idea and the contract; RFC 1321 for the algorithm.
 *
 * Vector paths are compiled per function with __attribute__((target(...))) and chosen at run time, so
 * the .node file stays loadable on any x86-64 CPU (as the CRC paths are).
 *
 * One message alone (or the last one left of a batch) runs at the speed of one chain: the C scalar path
 * below, ordered for that chain's latency (faster than the OpenSSL inside Node, bench/md5.bench.ts).
 *
 * Layout: a lane's state lives in st[0*W + i] (A), st[1*W + i] (B), st[2*W + i] (C), st[3*W + i] (D).
 * A message is processed as its whole 64-byte blocks read in place, then one or two padded tail blocks
 * built in the lane's own scratch (the last len % 64 bytes, 0x80, zeros, the bit length). Each call of a
 * vector kernel runs every lane for the same number of blocks: the fewest any busy lane has left in its
 * current run (in place, or tail); idle lanes read a zero block and their results are ignored.
 */
#include "md5-multi.h"

#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define SEDIMENT_MD5_X86 1
#include <immintrin.h>
#endif

static const uint32_t K[64] = {
    0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
    0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
    0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
    0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
    0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
    0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
    0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
    0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
};

static const uint32_t IV[4] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476};

/* The 64 steps: X(function, roles a b c d, message word, step number, rotation). */
#define MD5_STEPS(X)                                                                                   \
  X(F, a, b, c, d, 0, 0, 7) X(F, d, a, b, c, 1, 1, 12) X(F, c, d, a, b, 2, 2, 17) X(F, b, c, d, a, 3, 3, 22)     \
  X(F, a, b, c, d, 4, 4, 7) X(F, d, a, b, c, 5, 5, 12) X(F, c, d, a, b, 6, 6, 17) X(F, b, c, d, a, 7, 7, 22)     \
  X(F, a, b, c, d, 8, 8, 7) X(F, d, a, b, c, 9, 9, 12) X(F, c, d, a, b, 10, 10, 17) X(F, b, c, d, a, 11, 11, 22) \
  X(F, a, b, c, d, 12, 12, 7) X(F, d, a, b, c, 13, 13, 12) X(F, c, d, a, b, 14, 14, 17)                        \
  X(F, b, c, d, a, 15, 15, 22)                                                                         \
  X(G, a, b, c, d, 1, 16, 5) X(G, d, a, b, c, 6, 17, 9) X(G, c, d, a, b, 11, 18, 14) X(G, b, c, d, a, 0, 19, 20) \
  X(G, a, b, c, d, 5, 20, 5) X(G, d, a, b, c, 10, 21, 9) X(G, c, d, a, b, 15, 22, 14)                          \
  X(G, b, c, d, a, 4, 23, 20) X(G, a, b, c, d, 9, 24, 5) X(G, d, a, b, c, 14, 25, 9)                           \
  X(G, c, d, a, b, 3, 26, 14) X(G, b, c, d, a, 8, 27, 20) X(G, a, b, c, d, 13, 28, 5)                          \
  X(G, d, a, b, c, 2, 29, 9) X(G, c, d, a, b, 7, 30, 14) X(G, b, c, d, a, 12, 31, 20)                          \
  X(H, a, b, c, d, 5, 32, 4) X(H, d, a, b, c, 8, 33, 11) X(H, c, d, a, b, 11, 34, 16)                          \
  X(H, b, c, d, a, 14, 35, 23) X(H, a, b, c, d, 1, 36, 4) X(H, d, a, b, c, 4, 37, 11)                          \
  X(H, c, d, a, b, 7, 38, 16) X(H, b, c, d, a, 10, 39, 23) X(H, a, b, c, d, 13, 40, 4)                         \
  X(H, d, a, b, c, 0, 41, 11) X(H, c, d, a, b, 3, 42, 16) X(H, b, c, d, a, 6, 43, 23)                          \
  X(H, a, b, c, d, 9, 44, 4) X(H, d, a, b, c, 12, 45, 11) X(H, c, d, a, b, 15, 46, 16)                         \
  X(H, b, c, d, a, 2, 47, 23)                                                                          \
  X(I, a, b, c, d, 0, 48, 6) X(I, d, a, b, c, 7, 49, 10) X(I, c, d, a, b, 14, 50, 15)                          \
  X(I, b, c, d, a, 5, 51, 21) X(I, a, b, c, d, 12, 52, 6) X(I, d, a, b, c, 3, 53, 10)                          \
  X(I, c, d, a, b, 10, 54, 15) X(I, b, c, d, a, 1, 55, 21) X(I, a, b, c, d, 8, 56, 6)                          \
  X(I, d, a, b, c, 15, 57, 10) X(I, c, d, a, b, 6, 58, 15) X(I, b, c, d, a, 13, 59, 21)                        \
  X(I, a, b, c, d, 4, 60, 6) X(I, d, a, b, c, 11, 61, 10) X(I, c, d, a, b, 2, 62, 15)                          \
  X(I, b, c, d, a, 9, 63, 21)

/* ---- scalar ---- */

/* One chain is bound by the latency of each step's dependence on `b`, the previous step's result: everything
 * else is added to `a` first, while `b` is still being computed. F, H and I then cost two operations on `b`
 * before the add, rotate and add; G costs one, written as (b & d) + (c & ~d) (the two never share a set bit,
 * so + is |) with c & ~d added early. 11 % faster than adding the whole function last (bench/md5.bench.ts). */
#define S_F(t, b, c, d) t += (d) ^ ((b) & ((c) ^ (d)))
#define S_G(t, b, c, d) t += (c) & ~(d), t += (b) & (d)
#define S_H(t, b, c, d) t += (b) ^ ((c) ^ (d))
#define S_I(t, b, c, d) t += (c) ^ ((b) | ~(d))
#define S_ROL(x, s) (((x) << (s)) | ((x) >> (32 - (s))))
#define S_STEP(f, a, b, c, d, j, i, s)              \
  {                                                 \
    uint32_t t = a + m[j] + K[i];                   \
    S_##f(t, b, c, d);                              \
    a = S_ROL(t, s) + b;                            \
  }

static inline uint32_t load_le32(const uint8_t *p) {
  return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static inline void store_le32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
  p[2] = (uint8_t)(v >> 16);
  p[3] = (uint8_t)(v >> 24);
}

static void md5_blocks_scalar(uint32_t st[4], const uint8_t *p, size_t blocks) {
  uint32_t a = st[0], b = st[1], c = st[2], d = st[3];
  for (size_t k = 0; k < blocks; k++, p += 64) {
    uint32_t m[16];
    for (int j = 0; j < 16; j++) m[j] = load_le32(p + 4 * j);
    const uint32_t a0 = a, b0 = b, c0 = c, d0 = d;
    MD5_STEPS(S_STEP)
    a += a0;
    b += b0;
    c += c0;
    d += d0;
  }
  st[0] = a;
  st[1] = b;
  st[2] = c;
  st[3] = d;
}

/* The padded tail of a message of `len` bytes into `tail` (128 bytes); returns its blocks (1 or 2). */
static size_t md5_tail(const uint8_t *data, size_t len, uint8_t tail[128]) {
  const size_t rem = len & 63;
  const size_t blocks = rem < 56 ? 1 : 2;
  if (rem > 0) memcpy(tail, data + (len - rem), rem);
  tail[rem] = 0x80;
  memset(tail + rem + 1, 0, blocks * 64 - 8 - rem - 1);
  const uint64_t bits = (uint64_t)len << 3;
  store_le32(tail + blocks * 64 - 8, (uint32_t)bits);
  store_le32(tail + blocks * 64 - 4, (uint32_t)(bits >> 32));
  return blocks;
}

static void md5_digest(const uint32_t st[4], uint8_t digest[16]) {
  for (int i = 0; i < 4; i++) store_le32(digest + 4 * i, st[i]);
}

/* Finishes a message whose whole blocks before `from` are already in `st`. */
static void md5_finish(uint32_t st[4], const uint8_t *data, size_t len, size_t from_block, uint8_t digest[16]) {
  uint8_t tail[128];
  const size_t blocks = len / 64 - from_block, tail_blocks = md5_tail(data, len, tail);
  md5_blocks_scalar(st, data + 64 * from_block, blocks);
  md5_blocks_scalar(st, tail, tail_blocks);
  md5_digest(st, digest);
}

void sediment_md5(const uint8_t *data, size_t len, uint8_t digest[16]) {
  uint32_t st[4] = {IV[0], IV[1], IV[2], IV[3]};
  md5_finish(st, data, len, 0, digest);
}

void sediment_md5_init_state(uint32_t state[4]) {
  for (int i = 0; i < 4; i++) state[i] = IV[i];
}

/* One job on one chain. */
static void md5_job_one(const struct sediment_md5_job *job) {
  if (job->state != NULL) {
    md5_blocks_scalar(job->state, job->data, job->len / 64);
    return;
  }
  uint32_t st[4] = {IV[0], IV[1], IV[2], IV[3]};
  md5_finish(st, job->data, job->len, 0, job->digest);
}

/* ---- vector kernels: `blocks` blocks of every lane, lane i reading ptr[i] + k * step[i] ---- */

typedef void (*md5_kernel)(uint32_t *st, const uint8_t *const *ptr, const size_t *step, size_t blocks);

#ifdef SEDIMENT_MD5_X86

#define V8_F(b, c, d) _mm256_xor_si256(d, _mm256_and_si256(b, _mm256_xor_si256(c, d)))
#define V8_G(b, c, d) _mm256_xor_si256(c, _mm256_and_si256(d, _mm256_xor_si256(b, c)))
#define V8_H(b, c, d) _mm256_xor_si256(_mm256_xor_si256(b, c), d)
#define V8_I(b, c, d) _mm256_xor_si256(c, _mm256_or_si256(b, _mm256_xor_si256(d, ones)))
#define V8_STEP(f, a, b, c, d, j, i, s)                                                                \
  a = _mm256_add_epi32(a, _mm256_add_epi32(V8_##f(b, c, d), _mm256_add_epi32(m[j], _mm256_set1_epi32((int)K[i])))); \
  a = _mm256_add_epi32(_mm256_or_si256(_mm256_slli_epi32(a, s), _mm256_srli_epi32(a, 32 - (s))), b);

/* r[0..7]: 8 words of 8 lanes (row = lane) in, columns (row = word) out. */
__attribute__((target("avx2"))) static inline void transpose8(__m256i r[8]) {
  const __m256i t0 = _mm256_unpacklo_epi32(r[0], r[1]), t1 = _mm256_unpackhi_epi32(r[0], r[1]);
  const __m256i t2 = _mm256_unpacklo_epi32(r[2], r[3]), t3 = _mm256_unpackhi_epi32(r[2], r[3]);
  const __m256i t4 = _mm256_unpacklo_epi32(r[4], r[5]), t5 = _mm256_unpackhi_epi32(r[4], r[5]);
  const __m256i t6 = _mm256_unpacklo_epi32(r[6], r[7]), t7 = _mm256_unpackhi_epi32(r[6], r[7]);
  const __m256i u0 = _mm256_unpacklo_epi64(t0, t2), u1 = _mm256_unpackhi_epi64(t0, t2);
  const __m256i u2 = _mm256_unpacklo_epi64(t1, t3), u3 = _mm256_unpackhi_epi64(t1, t3);
  const __m256i u4 = _mm256_unpacklo_epi64(t4, t6), u5 = _mm256_unpackhi_epi64(t4, t6);
  const __m256i u6 = _mm256_unpacklo_epi64(t5, t7), u7 = _mm256_unpackhi_epi64(t5, t7);
  r[0] = _mm256_permute2x128_si256(u0, u4, 0x20);
  r[1] = _mm256_permute2x128_si256(u1, u5, 0x20);
  r[2] = _mm256_permute2x128_si256(u2, u6, 0x20);
  r[3] = _mm256_permute2x128_si256(u3, u7, 0x20);
  r[4] = _mm256_permute2x128_si256(u0, u4, 0x31);
  r[5] = _mm256_permute2x128_si256(u1, u5, 0x31);
  r[6] = _mm256_permute2x128_si256(u2, u6, 0x31);
  r[7] = _mm256_permute2x128_si256(u3, u7, 0x31);
}

/* An 8-lane kernel around a step macro (V8_STEP's shape): the two 8-lane kernels differ only in it. */
#define MD5_X8_KERNEL(name, isa, STEP)                                                                 \
  __attribute__((target(isa))) static void name(uint32_t *st, const uint8_t *const *ptr, const size_t *step, size_t blocks) { \
    __m256i a = _mm256_loadu_si256((const __m256i *)(st + 0));                                         \
    __m256i b = _mm256_loadu_si256((const __m256i *)(st + 8));                                         \
    __m256i c = _mm256_loadu_si256((const __m256i *)(st + 16));                                        \
    __m256i d = _mm256_loadu_si256((const __m256i *)(st + 24));                                        \
    const __m256i ones = _mm256_set1_epi32(-1); /* V8_I's NOT */                                       \
    (void)ones;                                                                                        \
    for (size_t k = 0; k < blocks; k++) {                                                              \
      __m256i m[16];                                                                                   \
      for (int half = 0; half < 2; half++) {                                                           \
        for (int l = 0; l < 8; l++) m[8 * half + l] = _mm256_loadu_si256((const __m256i *)(ptr[l] + k * step[l] + 32 * half)); \
        transpose8(m + 8 * half);                                                                      \
      }                                                                                                \
      const __m256i a0 = a, b0 = b, c0 = c, d0 = d;                                                    \
      MD5_STEPS(STEP)                                                                                  \
      a = _mm256_add_epi32(a, a0);                                                                     \
      b = _mm256_add_epi32(b, b0);                                                                     \
      c = _mm256_add_epi32(c, c0);                                                                     \
      d = _mm256_add_epi32(d, d0);                                                                     \
    }                                                                                                  \
    _mm256_storeu_si256((__m256i *)(st + 0), a);                                                       \
    _mm256_storeu_si256((__m256i *)(st + 8), b);                                                       \
    _mm256_storeu_si256((__m256i *)(st + 16), c);                                                      \
    _mm256_storeu_si256((__m256i *)(st + 24), d);                                                      \
  }

MD5_X8_KERNEL(md5_x8, "avx2", V8_STEP)

/* 8 lanes with AVX-512VL: the 16-lane kernel's ternary logic (one instruction per F, G, H, I) and rotate
 * on 256-bit registers, where AVX2 needs three instructions for each. ~1.25x the AVX2 kernel on this
 * machine's AMD EPYC (bench/md5.bench.ts: 4 streams of 1 MiB, 1,844 -> 2,308 MB/s); used for 2 to 8
 * messages, e.g. the MD5 thread's rounds over a few concurrent large uploads. */
#define V8L_STEP(f, a, b, c, d, j, i, s)                                                               \
  a = _mm256_add_epi32(a, _mm256_add_epi32(V8L_##f(b, c, d), _mm256_add_epi32(m[j], _mm256_set1_epi32((int)K[i])))); \
  a = _mm256_add_epi32(_mm256_rol_epi32(a, s), b);
#define V8L_F(b, c, d) _mm256_ternarylogic_epi32(b, c, d, 0xCA)
#define V8L_G(b, c, d) _mm256_ternarylogic_epi32(b, c, d, 0xE4)
#define V8L_H(b, c, d) _mm256_ternarylogic_epi32(b, c, d, 0x96)
#define V8L_I(b, c, d) _mm256_ternarylogic_epi32(b, c, d, 0x39)

MD5_X8_KERNEL(md5_x8vl, "avx2,avx512f,avx512vl", V8L_STEP)

/* Ternary-logic truth tables over (b, c, d) = (0xF0, 0xCC, 0xAA): F = 0xCA, G = 0xE4, H = 0x96, I = 0x39. */
#define V16_F(b, c, d) _mm512_ternarylogic_epi32(b, c, d, 0xCA)
#define V16_G(b, c, d) _mm512_ternarylogic_epi32(b, c, d, 0xE4)
#define V16_H(b, c, d) _mm512_ternarylogic_epi32(b, c, d, 0x96)
#define V16_I(b, c, d) _mm512_ternarylogic_epi32(b, c, d, 0x39)
#define V16_STEP(f, a, b, c, d, j, i, s)                                                               \
  a = _mm512_add_epi32(a, _mm512_add_epi32(V16_##f(b, c, d), _mm512_add_epi32(m[j], _mm512_set1_epi32((int)K[i])))); \
  a = _mm512_add_epi32(_mm512_rol_epi32(a, s), b);

/* r[0..15]: 16 words of 16 lanes (row = lane) in, columns (row = word) out. */
__attribute__((target("avx512f"))) static inline void transpose16(__m512i r[16]) {
  __m512i u[4][4]; /* [row group][k]: 128-bit lane L holds word 4L+k of the group's 4 rows */
  for (int g = 0; g < 4; g++) {
    const __m512i t0 = _mm512_unpacklo_epi32(r[4 * g], r[4 * g + 1]), t1 = _mm512_unpackhi_epi32(r[4 * g], r[4 * g + 1]);
    const __m512i t2 = _mm512_unpacklo_epi32(r[4 * g + 2], r[4 * g + 3]), t3 = _mm512_unpackhi_epi32(r[4 * g + 2], r[4 * g + 3]);
    u[g][0] = _mm512_unpacklo_epi64(t0, t2);
    u[g][1] = _mm512_unpackhi_epi64(t0, t2);
    u[g][2] = _mm512_unpacklo_epi64(t1, t3);
    u[g][3] = _mm512_unpackhi_epi64(t1, t3);
  }
  for (int k = 0; k < 4; k++) {
    const __m512i v0 = _mm512_shuffle_i32x4(u[0][k], u[1][k], 0x44), v1 = _mm512_shuffle_i32x4(u[0][k], u[1][k], 0xEE);
    const __m512i v2 = _mm512_shuffle_i32x4(u[2][k], u[3][k], 0x44), v3 = _mm512_shuffle_i32x4(u[2][k], u[3][k], 0xEE);
    r[k] = _mm512_shuffle_i32x4(v0, v2, 0x88);
    r[4 + k] = _mm512_shuffle_i32x4(v0, v2, 0xDD);
    r[8 + k] = _mm512_shuffle_i32x4(v1, v3, 0x88);
    r[12 + k] = _mm512_shuffle_i32x4(v1, v3, 0xDD);
  }
}

__attribute__((target("avx512f"))) static void md5_x16(uint32_t *st, const uint8_t *const *ptr, const size_t *step, size_t blocks) {
  __m512i a = _mm512_loadu_si512(st + 0);
  __m512i b = _mm512_loadu_si512(st + 16);
  __m512i c = _mm512_loadu_si512(st + 32);
  __m512i d = _mm512_loadu_si512(st + 48);
  for (size_t k = 0; k < blocks; k++) {
    __m512i m[16];
    for (int l = 0; l < 16; l++) m[l] = _mm512_loadu_si512(ptr[l] + k * step[l]);
    transpose16(m);
    const __m512i a0 = a, b0 = b, c0 = c, d0 = d;
    MD5_STEPS(V16_STEP)
    a = _mm512_add_epi32(a, a0);
    b = _mm512_add_epi32(b, b0);
    c = _mm512_add_epi32(c, c0);
    d = _mm512_add_epi32(d, d0);
  }
  _mm512_storeu_si512(st + 0, a);
  _mm512_storeu_si512(st + 16, b);
  _mm512_storeu_si512(st + 32, c);
  _mm512_storeu_si512(st + 48, d);
}

#endif /* SEDIMENT_MD5_X86 */

/* ---- the lane scheduler ---- */

#define LANES_MAX 16

struct lane {
  const struct sediment_md5_job *job; /* NULL: idle */
  const uint8_t *run;                 /* next block of the current run */
  size_t run_blocks;                  /* blocks left in it */
  bool in_tail;
  uint8_t tail[128];
};

static const uint8_t zero_block[64];

/* Starts `job` in lane i (state to the IV, first run: its whole blocks, or the tail if it has none). */
static void lane_start(struct lane *ln, uint32_t *st, int lanes, int i, const struct sediment_md5_job *job) {
  ln->job = job;
  for (int w = 0; w < 4; w++) st[w * lanes + i] = job->state != NULL ? job->state[w] : IV[w];
  ln->run = job->data;
  ln->run_blocks = job->len / 64;
  ln->in_tail = false;
  if (ln->run_blocks == 0 && job->state == NULL) {
    ln->run = ln->tail;
    ln->run_blocks = md5_tail(job->data, job->len, ln->tail);
    ln->in_tail = true;
  }
}

static int run_lanes(const struct sediment_md5_job *jobs, size_t n, int lanes, md5_kernel kernel) {
  struct lane ln[LANES_MAX];
  uint32_t st[4 * LANES_MAX];
  const uint8_t *ptr[LANES_MAX];
  size_t step[LANES_MAX];
  size_t next = 0;
  int busy = 0;
  for (int i = 0; i < lanes; i++) {
    ln[i].job = NULL;
    while (next < n && ln[i].job == NULL) {
      const struct sediment_md5_job *job = &jobs[next++];
      if (job->state != NULL && job->len < 64) continue; /* no whole block: nothing to do */
      lane_start(&ln[i], st, lanes, i, job);
      busy++;
    }
  }
  while (busy > 0) {
    if (busy == 1 && next == n) {
      /* One message left: its own chain runs faster scalar than in a mostly idle vector. */
      for (int i = 0; i < lanes; i++) {
        if (ln[i].job == NULL) continue;
        uint32_t one[4] = {st[i], st[lanes + i], st[2 * lanes + i], st[3 * lanes + i]};
        if (ln[i].job->state != NULL) {
          md5_blocks_scalar(one, ln[i].run, ln[i].run_blocks);
          memcpy(ln[i].job->state, one, sizeof one);
        } else if (ln[i].in_tail) {
          md5_blocks_scalar(one, ln[i].run, ln[i].run_blocks);
          md5_digest(one, ln[i].job->digest);
        } else {
          const size_t done = (size_t)(ln[i].run - ln[i].job->data) / 64;
          md5_finish(one, ln[i].job->data, ln[i].job->len, done, ln[i].job->digest);
        }
      }
      break;
    }
    size_t blocks = SIZE_MAX;
    for (int i = 0; i < lanes; i++) {
      if (ln[i].job == NULL) {
        ptr[i] = zero_block;
        step[i] = 0;
      } else {
        ptr[i] = ln[i].run;
        step[i] = 64;
        if (ln[i].run_blocks < blocks) blocks = ln[i].run_blocks;
      }
    }
    kernel(st, ptr, step, blocks);
    for (int i = 0; i < lanes; i++) {
      if (ln[i].job == NULL) continue;
      ln[i].run += 64 * blocks;
      ln[i].run_blocks -= blocks;
      if (ln[i].run_blocks > 0) continue;
      if (!ln[i].in_tail && ln[i].job->state == NULL) {
        ln[i].run_blocks = md5_tail(ln[i].job->data, ln[i].job->len, ln[i].tail);
        ln[i].run = ln[i].tail;
        ln[i].in_tail = true;
        continue;
      }
      const uint32_t one[4] = {st[i], st[lanes + i], st[2 * lanes + i], st[3 * lanes + i]};
      if (ln[i].job->state != NULL) memcpy(ln[i].job->state, one, sizeof one);
      else md5_digest(one, ln[i].job->digest);
      ln[i].job = NULL;
      busy--;
      while (next < n && ln[i].job == NULL) {
        const struct sediment_md5_job *job = &jobs[next++];
        if (job->state != NULL && job->len < 64) continue;
        lane_start(&ln[i], st, lanes, i, job);
        busy++;
      }
    }
  }
  return lanes;
}

static int best_lanes = 1;
/* The 8-lane kernel sediment_md5_many uses: AVX-512VL where present, else AVX2 (NULL: none). */
static md5_kernel best_x8 = NULL;
static bool have_avx2 = false, have_avx512vl = false;

void sediment_md5_init(bool avx2, bool avx512, bool avx512vl) {
#ifdef SEDIMENT_MD5_X86
  have_avx2 = avx2;
  have_avx512vl = avx2 && avx512 && avx512vl;
  best_lanes = avx512 ? 16 : avx2 ? 8 : 1;
  best_x8 = have_avx512vl ? md5_x8vl : avx2 ? md5_x8 : NULL;
#else
  (void)avx2;
  (void)avx512;
  (void)avx512vl;
  best_lanes = 1;
#endif
}

int sediment_md5_lanes(void) { return best_lanes; }

static int many_one_at_a_time(const struct sediment_md5_job *jobs, size_t n) {
  for (size_t i = 0; i < n; i++) md5_job_one(&jobs[i]);
  return 1;
}

int sediment_md5_many_lanes(const struct sediment_md5_job *jobs, size_t n, int lanes) {
  if (lanes > best_lanes || (lanes != 1 && lanes != 8 && lanes != 16)) return -1;
  if (lanes == 1 || n == 1) return many_one_at_a_time(jobs, n);
#ifdef SEDIMENT_MD5_X86
  return run_lanes(jobs, n, lanes, lanes == 16 ? md5_x16 : best_x8);
#else
  return -1;
#endif
}

int sediment_md5_many_kernel(const struct sediment_md5_job *jobs, size_t n, const char *kernel) {
  if (strcmp(kernel, "scalar") == 0) return many_one_at_a_time(jobs, n);
#ifdef SEDIMENT_MD5_X86
  if (strcmp(kernel, "avx2") == 0 && have_avx2) return run_lanes(jobs, n, 8, md5_x8);
  if (strcmp(kernel, "avx512vl") == 0 && have_avx512vl) return run_lanes(jobs, n, 8, md5_x8vl);
  if (strcmp(kernel, "avx512") == 0 && best_lanes == 16) return run_lanes(jobs, n, 16, md5_x16);
#endif
  return -1;
}

int sediment_md5_many(const struct sediment_md5_job *jobs, size_t n) {
  return sediment_md5_many_lanes(jobs, n, best_lanes == 16 && n <= 8 ? 8 : best_lanes);
}
