/* XXH64 with seed 0 (the hash of every frame, header, tail and checkpoint: docs/FORMAT.md), one shot,
 * reading the caller's bytes in place.
 *
 * Contract: equal to xxhash-wasm's h64 of the same bytes for every length (test/native-xxh64.test.ts);
 * pure, no state, safe on any thread. */
#ifndef SEDIMENT_XXH64_H
#define SEDIMENT_XXH64_H

#include <stddef.h>
#include <stdint.h>

uint64_t sediment_xxh64(const uint8_t *p, size_t n);

#endif
