/* zstd dictionaries with entropy tables, from the system's libzstd (loaded at run time).
 *
 * A raw-content dictionary (bytes only) lets zstd find matches in it, but every small frame compressed with it
 * still builds its own Huffman and FSE tables. ZDICT_finalizeDictionary puts tables computed from samples in
 * front of the same content (a zstd-format dictionary, magic 0xEC30A437): frames then reuse them. On 4 KiB
 * log-like objects at level 1 that compresses ~35 % faster and ~7 % smaller (docs/PERFORMANCE.md).
 *
 * zstd-napi does not carry zstd's dictBuilder, so the function is looked up in libzstd.so.1 (present
 * wherever dpkg is: it depends on it) with dlopen/dlsym, and the prototypes below are zstd's stable public
 * API (zdict.h, since 1.4.5). Without the library the caller keeps its raw-content dictionary. */
#ifndef SEDIMENT_ZSTD_DICT_H
#define SEDIMENT_ZSTD_DICT_H

#include <stddef.h>
#include <stdint.h>

/* 1 if ZDICT_finalizeDictionary was found (looked up once, thread-safe), else 0. */
int sediment_zdict_available(void);

/* ZDICT_finalizeDictionary(dst, cap, content, contentLen, samples, sizes, n, {level, 0, dictId}).
 * Returns the dictionary's size, or 0 with *error set to zstd's message (or "libzstd.so.1 not found"). */
size_t sediment_zdict_finalize(uint8_t *dst, size_t cap, const uint8_t *content, size_t content_len, const uint8_t *samples,
                               const size_t *sizes, unsigned n, int level, uint32_t dict_id, const char **error);

#endif
