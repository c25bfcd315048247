/* CRC-64/NVME (polynomial 0xAD93D23594C93659, reflected form 0x9A6C9329AC4BC9B5, init and
 * xorout all ones; check value for "123456789" is 0xAE8B14860A799888).
 *
 * Contract: `prev` and the return value are finished CRCs, so a message split anywhere gives the
 * same result: crc(crc(0, a), b) == crc(0, a || b).
 * sediment_crc64nvme_init must have returned before any other call (it builds the tables). */
#ifndef SEDIMENT_CRC64NVME_H
#define SEDIMENT_CRC64NVME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

void sediment_crc64nvme_init(bool use_pclmul);

/* Fastest available implementation (PCLMULQDQ folding when enabled at init, else slice-by-8). */
uint64_t sediment_crc64nvme(uint64_t prev, const uint8_t *p, size_t n);

/* Always the portable slice-by-8 tables; exported so tests can cross-check both paths. */
uint64_t sediment_crc64nvme_table(uint64_t prev, const uint8_t *p, size_t n);

#endif
