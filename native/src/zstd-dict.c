/* See zstd-dict.h. */
#include "zstd-dict.h"

#include <dlfcn.h>
#include <pthread.h>

/* zdict.h's ZDICT_params_t (stable API). */
typedef struct {
  int compressionLevel;
  unsigned notificationLevel;
  unsigned dictID;
} zdict_params;

typedef size_t (*finalize_fn)(void *, size_t, const void *, size_t, const void *, const size_t *, unsigned, zdict_params);
typedef unsigned (*is_error_fn)(size_t);
typedef const char *(*error_name_fn)(size_t);

static finalize_fn finalize;
static is_error_fn is_error;
static error_name_fn error_name;
static pthread_once_t lookup_once = PTHREAD_ONCE_INIT;

static void lookup(void) {
  /* Kept open for the life of the process. */
  void *lib = dlopen("libzstd.so.1", RTLD_NOW | RTLD_LOCAL);
  if (lib == NULL) return;
  finalize_fn f = (finalize_fn)dlsym(lib, "ZDICT_finalizeDictionary");
  is_error_fn e = (is_error_fn)dlsym(lib, "ZDICT_isError");
  error_name_fn n = (error_name_fn)dlsym(lib, "ZDICT_getErrorName");
  if (f == NULL || e == NULL || n == NULL) return;
  is_error = e;
  error_name = n;
  finalize = f;
}

int sediment_zdict_available(void) {
  pthread_once(&lookup_once, lookup);
  return finalize != NULL;
}

size_t sediment_zdict_finalize(uint8_t *dst, size_t cap, const uint8_t *content, size_t content_len, const uint8_t *samples,
                               const size_t *sizes, unsigned n, int level, uint32_t dict_id, const char **error) {
  if (!sediment_zdict_available()) {
    *error = "libzstd.so.1 (with ZDICT_finalizeDictionary) not found";
    return 0;
  }
  zdict_params p = {level, 0, dict_id};
  size_t r = finalize(dst, cap, content, content_len, samples, sizes, n, p);
  if (is_error(r)) {
    *error = error_name(r);
    return 0;
  }
  return r;
}
