/* MD5 of many independent messages at once (RFC 1321), for the ETags of a batch of small objects.
 *
 * One MD5 is a chain: every 64-byte block depends on the previous one, so a single message runs at the
 * speed of one scalar dependency chain (~4.7 cycles per byte). Independent messages can share the vector
 * unit instead: lane i of each vector register holds message i's state, and every instruction advances 8
 * (AVX2, or AVX-512VL on 256-bit registers) or 16 (AVX-512) messages by one step. A lane whose message ends is refilled with the next one.
 *
 * Contract: every job's digest is written before the call returns; inputs are only read, and no pointer
 * is kept after returning. Results are bit-identical on every path (tests compare them with node:crypto).
 */
#ifndef SEDIMENT_MD5_MULTI_H
#define SEDIMENT_MD5_MULTI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sediment_md5_job {
  const uint8_t *data;
  size_t len;
  uint8_t *digest; /* 16 bytes */
  /* NULL: `data` is a whole message, its digest goes to `digest`. Otherwise a running MD5's state (A, B, C,
   * D) to continue: `len` is a multiple of 64, its blocks are hashed with no padding and the state is
   * updated in place (`digest` unused). Streams fed piece by piece use this. */
  uint32_t *state;
};

/* Chooses the widest path the CPU and OS support; call once before the functions below. */
void sediment_md5_init(bool avx2, bool avx512, bool avx512vl);

/* Lanes of the widest path: 16 (AVX-512), 8 (AVX2) or 1 (scalar). */
int sediment_md5_lanes(void);

/* Digests of all jobs on the best path for their count (8 lanes for up to 8 jobs: fewer idle lanes);
 * returns the lanes used. */
int sediment_md5_many(const struct sediment_md5_job *jobs, size_t n);

/* The same on a chosen path (1: the C scalar code, 8 or 16 lanes); -1 if this CPU cannot run it. For tests
 * and benches. 8 lanes run the AVX-512VL kernel where the CPU has it, else the AVX2 one. */
int sediment_md5_many_lanes(const struct sediment_md5_job *jobs, size_t n, int lanes);

/* The same on one named kernel: "scalar", "avx2" (8 lanes), "avx512vl" (8 lanes), "avx512" (16 lanes);
 * -1 if this CPU cannot run it or the name is unknown. For tests and benches, which compare them. Unlike
 * lanes 1, "scalar" runs every job on the C code, even alone. */
int sediment_md5_many_kernel(const struct sediment_md5_job *jobs, size_t n, const char *kernel);

/* One message on one chain (the C scalar code). */
void sediment_md5(const uint8_t *data, size_t len, uint8_t digest[16]);

/* The MD5 initial state (A, B, C, D). */
void sediment_md5_init_state(uint32_t state[4]);

#endif
