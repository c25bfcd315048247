/* CRC-32C (Castagnoli; reflected polynomial 0x82F63B78, init and xorout all ones).
 *
 * Contract: `prev` and the return value are finished CRCs, the same numbers users see, so a
 * message split anywhere gives the same result: crc(crc(0, a), b) == crc(0, a || b).
 * sediment_crc32c_init must have returned before any other call (it builds the tables). */
#ifndef SEDIMENT_CRC32C_H
#define SEDIMENT_CRC32C_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

void sediment_crc32c_init(bool use_sse42);

/* Fastest available implementation (SSE4.2 when enabled at init, else slice-by-8). */
uint32_t sediment_crc32c(uint32_t prev, const uint8_t *p, size_t n);

/* Always the portable slice-by-8 tables; exported so tests can cross-check both paths. */
uint32_t sediment_crc32c_table(uint32_t prev, const uint8_t *p, size_t n);

#endif
