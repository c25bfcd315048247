/* Node-API glue for sediment_native: argument checking, conversion, exports.
 *
 * Exports (see src/native/index.ts for the TypeScript view):
 *   crc32c(buf: Uint8Array, prev?: number): number          fastest path (SSE4.2 or tables)
 *   crc64nvme(buf: Uint8Array, prev?: bigint): bigint       fastest path (PCLMULQDQ or tables)
 *   crc32cTable / crc64nvmeTable                            portable tables only, for tests
 *   xxh64(buf: Uint8Array): bigint                           XXH64, seed 0, of the bytes in place (xxh64.h)
 *   schedBatch(): boolean                                    the calling thread to SCHED_BATCH (Linux); whether it took
 *                                                            effect
 *   flock(fd: number, exclusive: boolean, nonBlocking: boolean): boolean
 *   cpuFeatures(): { sse42, pclmul, avx2, avx512, avx512vl: boolean }
 *   md5Many(data: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, out: Uint8Array, lanes?): number
 *     the MD5 of every data[offsets[i], offsets[i] + lengths[i]) into out[16i, 16i + 16), computed
 *     side by side (md5-multi.h); returns the lanes used (16, 8 or 1). `lanes` forces a path (tests,
 *     benches): 1, 8 or 16, or a kernel's name ("scalar", "avx2", "avx512vl", "avx512").
 *   md5Blocks(states: Uint8Array, datas: Uint8Array[], lanes?): number
 *     continues n running MD5s side by side: states[16i, 16i + 16) is stream i's state in digest byte
 *     order (A, B, C, D little-endian), datas[i] its next bytes, a multiple of 64 (no padding is added).
 *   copyBytes(target: Uint8Array, targetStart: number, source: Uint8Array): number
 *     memmove of all of source into target at targetStart (shared memory included); returns the bytes copied
 *   zdictAvailable(): boolean                               whether libzstd.so.1's dictionary builder was found
 *   zdictFinalize(content, samples, sizes: Uint32Array, level: number, dictId: number, out: Uint8Array): number
 *     a zstd-format dictionary (entropy tables from the samples, back to back in `samples`, then `content`)
 *     into out; returns its length. Throws (code ERR_SEDIMENT_ZDICT) with zstd's message if it failed.
 *   logWriterOpen(fd, onReport) / logWriterSubmit / logWriterResume / logWriterRef / logWriterClose:
 *     a writer thread per append-only file (log-writer.h; src/io/log-appender.ts is the TS side)
 *
 * Every Node-API status is checked. A wrong argument type throws TypeError (code
 * ERR_INVALID_ARG_TYPE), an out-of-range value RangeError (ERR_OUT_OF_RANGE); nothing here may
 * crash the process on bad input. The CRC functions read the caller's bytes synchronously and
 * keep no reference to them after returning.
 */
#define _GNU_SOURCE /* SCHED_BATCH */
#include <node_api.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>

#include "cpu-features.h"
#include "crc32c.h"
#include "crc64nvme.h"
#include "file-lock.h"
#include "pread-nowait.h"
#include "exec-self.h"
#include "malloc-tune.h"
#include "log-writer.h"
#include "md5-multi.h"
#include "xxh64.h"
#include "zstd-dict.h"
#include <stdlib.h>
#include <string.h>

static struct sediment_cpu_features cpu;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;

/* Module init may run once per worker thread; the tables are built exactly once. */
static void init_tables(void) {
  sediment_cpu_detect(&cpu);
  sediment_crc32c_init(cpu.sse42);
  sediment_crc64nvme_init(cpu.pclmul && cpu.sse41);
  sediment_md5_init(cpu.avx2, cpu.avx512, cpu.avx512vl);
}

/* Turns a failed Node-API status into a JS exception unless one is already pending. */
static void throw_napi_failure(napi_env env) {
  const napi_extended_error_info *info = NULL;
  const char *message = "Node-API call failed";
  if (napi_get_last_error_info(env, &info) == napi_ok && info != NULL && info->error_message != NULL) {
    message = info->error_message;
  }
  bool pending = false;
  if (napi_is_exception_pending(env, &pending) == napi_ok && pending) return;
  napi_throw_error(env, "ERR_SEDIMENT_NAPI", message);
}

#define NAPI_CHECK(env, call)        \
  do {                               \
    if ((call) != napi_ok) {         \
      throw_napi_failure(env);       \
      return NULL;                   \
    }                                \
  } while (0)

/* Same, for helpers that report failure with false. */
#define NAPI_CHECK_BOOL(env, call)   \
  do {                               \
    if ((call) != napi_ok) {         \
      throw_napi_failure(env);       \
      return false;                  \
    }                                \
  } while (0)

static bool throw_type(napi_env env, const char *message) {
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", message);
  return false;
}

static bool throw_range(napi_env env, const char *message) {
  napi_throw_range_error(env, "ERR_OUT_OF_RANGE", message);
  return false;
}

static bool get_args(napi_env env, napi_callback_info info, size_t count, napi_value *argv) {
  size_t argc = count;
  NAPI_CHECK_BOOL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  return true; /* missing arguments are filled with undefined */
}

static bool get_type(napi_env env, napi_value v, napi_valuetype *type) {
  NAPI_CHECK_BOOL(env, napi_typeof(env, v, type));
  return true;
}

/* A Uint8Array (Buffer included). data may be NULL when len is 0. */
static bool get_bytes(napi_env env, napi_value v, const uint8_t **data, size_t *len) {
  bool is_typed_array = false;
  NAPI_CHECK_BOOL(env, napi_is_typedarray(env, v, &is_typed_array));
  if (!is_typed_array) return throw_type(env, "The \"buf\" argument must be a Uint8Array");
  napi_typedarray_type type;
  size_t length = 0;
  void *ptr = NULL;
  napi_value array_buffer;
  size_t byte_offset = 0;
  NAPI_CHECK_BOOL(env, napi_get_typedarray_info(env, v, &type, &length, &ptr, &array_buffer, &byte_offset));
  if (type != napi_uint8_array) return throw_type(env, "The \"buf\" argument must be a Uint8Array");
  /* ptr already includes byte_offset. */
  *data = (const uint8_t *)ptr;
  *len = length;
  return true;
}

/* True if `v` is of type `want`; otherwise throws TypeError: The "name" argument must be `what`. */
static bool check_type(napi_env env, napi_value v, const char *name, napi_valuetype want, const char *what) {
  napi_valuetype type;
  if (!get_type(env, v, &type)) return false;
  if (type == want) return true;
  char message[96];
  snprintf(message, sizeof message, "The \"%s\" argument must be %s", name, what);
  return throw_type(env, message);
}

/* A number (any double: the caller checks its range). */
static bool get_number(napi_env env, napi_value v, const char *name, double *out) {
  if (!check_type(env, v, name, napi_number, "a number")) return false;
  NAPI_CHECK_BOOL(env, napi_get_value_double(env, v, out));
  return true;
}

/* An optional uint32 (undefined means 0); non-integers and values outside 0..2^32-1 are refused. */
static bool get_optional_u32(napi_env env, napi_value v, const char *name, uint32_t *out) {
  napi_valuetype type;
  if (!get_type(env, v, &type)) return false;
  if (type == napi_undefined) {
    *out = 0;
    return true;
  }
  char message[96];
  if (type != napi_number) {
    snprintf(message, sizeof message, "The \"%s\" argument must be a number", name);
    return throw_type(env, message);
  }
  double d = 0;
  NAPI_CHECK_BOOL(env, napi_get_value_double(env, v, &d));
  if (!(d >= 0 && d <= 4294967295.0) || d != (double)(uint32_t)d) {
    snprintf(message, sizeof message, "The \"%s\" argument must be an integer in 0..2^32-1", name);
    return throw_range(env, message);
  }
  *out = (uint32_t)d;
  return true;
}

/* An optional unsigned 64-bit bigint (undefined means 0n). */
static bool get_optional_u64(napi_env env, napi_value v, const char *name, uint64_t *out) {
  napi_valuetype type;
  if (!get_type(env, v, &type)) return false;
  if (type == napi_undefined) {
    *out = 0;
    return true;
  }
  char message[96];
  if (type != napi_bigint) {
    snprintf(message, sizeof message, "The \"%s\" argument must be a bigint", name);
    return throw_type(env, message);
  }
  bool lossless = false;
  NAPI_CHECK_BOOL(env, napi_get_value_bigint_uint64(env, v, out, &lossless));
  if (!lossless) {
    snprintf(message, sizeof message, "The \"%s\" argument must be in 0n..2n**64n-1n", name);
    return throw_range(env, message);
  }
  return true;
}

static bool get_bool(napi_env env, napi_value v, const char *name, bool *out) {
  if (!check_type(env, v, name, napi_boolean, "a boolean")) return false;
  NAPI_CHECK_BOOL(env, napi_get_value_bool(env, v, out));
  return true;
}

static bool get_fd(napi_env env, napi_value v, int *out) {
  napi_valuetype type;
  if (!get_type(env, v, &type)) return false;
  if (type != napi_number) return throw_type(env, "The \"fd\" argument must be a number");
  double d = 0;
  NAPI_CHECK_BOOL(env, napi_get_value_double(env, v, &d));
  if (!(d >= 0 && d <= 2147483647.0) || d != (double)(int)d) {
    return throw_range(env, "The \"fd\" argument must be an integer in 0..2^31-1");
  }
  *out = (int)d;
  return true;
}

typedef uint32_t (*crc32_fn)(uint32_t, const uint8_t *, size_t);
typedef uint64_t (*crc64_fn)(uint64_t, const uint8_t *, size_t);

static napi_value call_crc32(napi_env env, napi_callback_info info, crc32_fn fn) {
  napi_value argv[2];
  const uint8_t *data = NULL;
  size_t len = 0;
  uint32_t prev = 0;
  if (!get_args(env, info, 2, argv)) return NULL;
  if (!get_bytes(env, argv[0], &data, &len)) return NULL;
  if (!get_optional_u32(env, argv[1], "prev", &prev)) return NULL;
  napi_value result;
  NAPI_CHECK(env, napi_create_uint32(env, fn(prev, data, len), &result));
  return result;
}

static napi_value call_crc64(napi_env env, napi_callback_info info, crc64_fn fn) {
  napi_value argv[2];
  const uint8_t *data = NULL;
  size_t len = 0;
  uint64_t prev = 0;
  if (!get_args(env, info, 2, argv)) return NULL;
  if (!get_bytes(env, argv[0], &data, &len)) return NULL;
  if (!get_optional_u64(env, argv[1], "prev", &prev)) return NULL;
  napi_value result;
  NAPI_CHECK(env, napi_create_bigint_uint64(env, fn(prev, data, len), &result));
  return result;
}

static napi_value js_crc32c(napi_env env, napi_callback_info info) {
  return call_crc32(env, info, sediment_crc32c);
}

static napi_value js_crc32c_table(napi_env env, napi_callback_info info) {
  return call_crc32(env, info, sediment_crc32c_table);
}

static napi_value js_crc64nvme(napi_env env, napi_callback_info info) {
  return call_crc64(env, info, sediment_crc64nvme);
}

static napi_value js_crc64nvme_table(napi_env env, napi_callback_info info) {
  return call_crc64(env, info, sediment_crc64nvme_table);
}

static napi_value js_xxh64(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  const uint8_t *data = NULL;
  size_t len = 0;
  if (!get_args(env, info, 1, argv)) return NULL;
  if (!get_bytes(env, argv[0], &data, &len)) return NULL;
  napi_value result;
  NAPI_CHECK(env, napi_create_bigint_uint64(env, sediment_xxh64(data, len), &result));
  return result;
}

/* Puts the calling thread under SCHED_BATCH (Linux; an unprivileged lowering): a woken batch thread does not
 * preempt the running one. Returns whether it took effect. */
static napi_value js_sched_batch(napi_env env, napi_callback_info info) {
  bool ok = false;
#ifdef __linux__
  struct sched_param param = {0};
  ok = sched_setscheduler(0, SCHED_BATCH, &param) == 0;
#endif
  napi_value result;
  NAPI_CHECK(env, napi_get_boolean(env, ok, &result));
  return result;
}

/* Throws Error{code: "EBADF", errno: -9, syscall: "flock"}, the shape of Node's own fs errors. */
static void throw_errno(napi_env env, int err, int fd, bool exclusive, bool non_blocking) {
  char message[160];
  const char *name = sediment_errno_name(err);
  snprintf(message, sizeof message, "flock(fd=%d, %s%s) failed: %s (%s)", fd, exclusive ? "LOCK_EX" : "LOCK_SH",
           non_blocking ? "|LOCK_NB" : "", sediment_errno_text(err), name);
  napi_value code, msg, error, errno_value, syscall;
  if (napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &code) != napi_ok ||
      napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &msg) != napi_ok ||
      napi_create_error(env, code, msg, &error) != napi_ok ||
      napi_create_int32(env, -err, &errno_value) != napi_ok ||
      napi_set_named_property(env, error, "errno", errno_value) != napi_ok ||
      napi_create_string_utf8(env, "flock", NAPI_AUTO_LENGTH, &syscall) != napi_ok ||
      napi_set_named_property(env, error, "syscall", syscall) != napi_ok) {
    throw_napi_failure(env);
    return;
  }
  if (napi_throw(env, error) != napi_ok) throw_napi_failure(env);
}

static napi_value js_flock(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  int fd = -1;
  bool exclusive = false, non_blocking = false;
  if (!get_args(env, info, 3, argv)) return NULL;
  if (!get_fd(env, argv[0], &fd)) return NULL;
  if (!get_bool(env, argv[1], "exclusive", &exclusive)) return NULL;
  if (!get_bool(env, argv[2], "nonBlocking", &non_blocking)) return NULL;
  int err = 0;
  enum sediment_flock_result r = sediment_flock(fd, exclusive, non_blocking, &err);
  if (r == SEDIMENT_FLOCK_FAILED) {
    throw_errno(env, err, fd, exclusive, non_blocking);
    return NULL;
  }
  napi_value result;
  NAPI_CHECK(env, napi_get_boolean(env, r == SEDIMENT_FLOCK_ACQUIRED, &result));
  return result;
}

/* copyBytes(target, targetStart, source): all of source into target at targetStart, with memmove. V8
 * copies into shared memory (a SharedArrayBuffer) with relaxed atomic stores, a byte at a time when source
 * and target are not equally aligned mod 8: ~3x a memmove for a request body's pieces, which land at any
 * offset of a chunk buffer (bench/copy.bench.ts). Returns the bytes copied. */
static napi_value js_copy_bytes(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  const uint8_t *target = NULL, *source = NULL;
  size_t target_len = 0, source_len = 0;
  double start = 0;
  if (!get_args(env, info, 3, argv)) return NULL;
  if (!get_bytes(env, argv[0], &target, &target_len)) return NULL;
  if (!get_number(env, argv[1], "targetStart", &start)) return NULL;
  if (!get_bytes(env, argv[2], &source, &source_len)) return NULL;
  if (!(start >= 0 && start <= (double)target_len) || start != (double)(size_t)start || source_len > target_len - (size_t)start) {
    throw_range(env, "The source does not fit in the target at \"targetStart\"");
    return NULL;
  }
  if (source_len > 0) memmove((uint8_t *)target + (size_t)start, source, source_len);
  napi_value result;
  NAPI_CHECK(env, napi_create_double(env, (double)source_len, &result));
  return result;
}

/* preadNoWait(fd, buf, position): bytes read (all of buf), -1 (not cached / read asynchronously) or -2
 * (unsupported here). Never blocks on the disk. */
static napi_value js_pread_nowait(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  int fd = -1;
  const uint8_t *data = NULL;
  size_t len = 0;
  if (!get_args(env, info, 3, argv)) return NULL;
  if (!get_fd(env, argv[0], &fd)) return NULL;
  if (!get_bytes(env, argv[1], &data, &len)) return NULL;
  double pos = 0;
  if (!get_number(env, argv[2], "position", &pos)) return NULL;
  if (!(pos >= 0 && pos <= 9007199254740991.0) || pos != (double)(uint64_t)pos) {
    throw_range(env, "The \"position\" argument must be a safe non-negative integer");
    return NULL;
  }
  int64_t n = sediment_pread_nowait(fd, (uint8_t *)data, len, (uint64_t)pos);
  napi_value result;
  NAPI_CHECK(env, napi_create_double(env, (double)n, &result));
  return result;
}

static napi_value js_cpu_features(napi_env env, napi_callback_info info) {
  napi_value result, sse42, pclmul, avx2, avx512, avx512vl;
  NAPI_CHECK(env, napi_create_object(env, &result));
  NAPI_CHECK(env, napi_get_boolean(env, cpu.sse42, &sse42));
  NAPI_CHECK(env, napi_get_boolean(env, cpu.pclmul, &pclmul));
  NAPI_CHECK(env, napi_get_boolean(env, cpu.avx2, &avx2));
  NAPI_CHECK(env, napi_get_boolean(env, cpu.avx512, &avx512));
  NAPI_CHECK(env, napi_get_boolean(env, cpu.avx512vl, &avx512vl));
  NAPI_CHECK(env, napi_set_named_property(env, result, "sse42", sse42));
  NAPI_CHECK(env, napi_set_named_property(env, result, "pclmul", pclmul));
  NAPI_CHECK(env, napi_set_named_property(env, result, "avx2", avx2));
  NAPI_CHECK(env, napi_set_named_property(env, result, "avx512", avx512));
  NAPI_CHECK(env, napi_set_named_property(env, result, "avx512vl", avx512vl));
  return result;
}

/* A Uint32Array argument. */
static bool get_u32_array(napi_env env, napi_value v, const char *name, const uint32_t **data, size_t *count) {
  char message[96];
  bool is_typed_array = false;
  NAPI_CHECK_BOOL(env, napi_is_typedarray(env, v, &is_typed_array));
  napi_typedarray_type type = napi_int8_array;
  void *ptr = NULL;
  napi_value array_buffer;
  size_t byte_offset = 0;
  if (is_typed_array) NAPI_CHECK_BOOL(env, napi_get_typedarray_info(env, v, &type, count, &ptr, &array_buffer, &byte_offset));
  if (!is_typed_array || type != napi_uint32_array) {
    snprintf(message, sizeof message, "The \"%s\" argument must be a Uint32Array", name);
    return throw_type(env, message);
  }
  *data = (const uint32_t *)ptr;
  return true;
}

/* The lanes an MD5 call used, or the refusal of a path this CPU cannot run (used < 0). */
static napi_value lanes_result(napi_env env, int used) {
  if (used < 0) {
    throw_range(env, "This CPU cannot run the requested lanes");
    return NULL;
  }
  napi_value result;
  NAPI_CHECK(env, napi_create_int32(env, used, &result));
  return result;
}

/* Which MD5 path a call asks for: undefined (the best for the count), lanes 1, 8 or 16, or a kernel's
 * name ("scalar", "avx2", "avx512vl", "avx512": tests and benches compare them). */
struct md5_path {
  uint32_t lanes;
  char kernel[16]; /* "" unless named */
};

static bool get_md5_path(napi_env env, napi_value v, struct md5_path *out) {
  napi_valuetype type;
  out->lanes = 0;
  out->kernel[0] = '\0';
  if (!get_type(env, v, &type)) return false;
  if (type == napi_string) {
    size_t len = 0;
    NAPI_CHECK_BOOL(env, napi_get_value_string_utf8(env, v, out->kernel, sizeof out->kernel, &len));
    if (strcmp(out->kernel, "scalar") != 0 && strcmp(out->kernel, "avx2") != 0 && strcmp(out->kernel, "avx512vl") != 0 &&
        strcmp(out->kernel, "avx512") != 0) {
      return throw_range(env, "The \"lanes\" argument must be 1, 8, 16 or a kernel: scalar, avx2, avx512vl, avx512");
    }
    return true;
  }
  if (!get_optional_u32(env, v, "lanes", &out->lanes)) return false;
  if (out->lanes != 0 && out->lanes != 1 && out->lanes != 8 && out->lanes != 16) {
    return throw_range(env, "The \"lanes\" argument must be 1, 8, 16 or a kernel: scalar, avx2, avx512vl, avx512");
  }
  return true;
}

static int md5_run(const struct sediment_md5_job *jobs, size_t n, const struct md5_path *path) {
  if (path->kernel[0] != '\0') return sediment_md5_many_kernel(jobs, n, path->kernel);
  return path->lanes == 0 ? sediment_md5_many(jobs, n) : sediment_md5_many_lanes(jobs, n, (int)path->lanes);
}

#define MD5_JOBS_ON_STACK 64
#define MD5_JOBS_MAX (1u << 20)

static napi_value js_md5_many(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  const uint8_t *data = NULL, *out_ro = NULL;
  size_t data_len = 0, out_len = 0, n = 0, n_lengths = 0;
  const uint32_t *offsets = NULL, *lengths = NULL;
  struct md5_path path;
  if (!get_args(env, info, 5, argv)) return NULL;
  if (!get_bytes(env, argv[0], &data, &data_len)) return NULL;
  if (!get_u32_array(env, argv[1], "offsets", &offsets, &n)) return NULL;
  if (!get_u32_array(env, argv[2], "lengths", &lengths, &n_lengths)) return NULL;
  if (!get_bytes(env, argv[3], &out_ro, &out_len)) return NULL;
  if (!get_md5_path(env, argv[4], &path)) return NULL;
  if (n_lengths != n) {
    throw_range(env, "The \"offsets\" and \"lengths\" arguments must have the same length");
    return NULL;
  }
  if (n > MD5_JOBS_MAX) {
    throw_range(env, "md5Many takes at most 2^20 messages per call");
    return NULL;
  }
  if (out_len < 16 * n) {
    throw_range(env, "The \"out\" argument must hold 16 bytes per message");
    return NULL;
  }
  for (size_t i = 0; i < n; i++) {
    if ((uint64_t)offsets[i] + lengths[i] > data_len) {
      throw_range(env, "A message lies outside the \"data\" argument");
      return NULL;
    }
  }
  struct sediment_md5_job on_stack[MD5_JOBS_ON_STACK];
  struct sediment_md5_job *jobs = n <= MD5_JOBS_ON_STACK ? on_stack : malloc(n * sizeof *jobs);
  if (jobs == NULL) {
    napi_throw_error(env, "ERR_SEDIMENT_NOMEM", "md5Many: out of memory");
    return NULL;
  }
  uint8_t *out = (uint8_t *)out_ro;
  for (size_t i = 0; i < n; i++) {
    jobs[i].data = data + offsets[i];
    jobs[i].len = lengths[i];
    jobs[i].digest = out + 16 * i;
    jobs[i].state = NULL;
  }
  const int used = md5_run(jobs, n, &path);
  if (jobs != on_stack) free(jobs);
  return lanes_result(env, used);
}

static napi_value js_zdict_available(napi_env env, napi_callback_info info) {
  napi_value result;
  NAPI_CHECK(env, napi_get_boolean(env, sediment_zdict_available() == 1, &result));
  return result;
}

static napi_value js_zdict_finalize(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  const uint8_t *content = NULL, *samples = NULL, *out_ro = NULL;
  size_t content_len = 0, samples_len = 0, out_len = 0, n = 0;
  const uint32_t *sizes = NULL;
  uint32_t dict_id = 0;
  if (!get_args(env, info, 6, argv)) return NULL;
  if (!get_bytes(env, argv[0], &content, &content_len)) return NULL;
  if (!get_bytes(env, argv[1], &samples, &samples_len)) return NULL;
  if (!get_u32_array(env, argv[2], "sizes", &sizes, &n)) return NULL;
  double level = 0;
  if (!get_number(env, argv[3], "level", &level)) return NULL;
  if (!(level >= -131072 && level <= 22) || level != (double)(int)level) {
    throw_range(env, "The \"level\" argument must be an integer in -131072..22");
    return NULL;
  }
  if (!get_optional_u32(env, argv[4], "dictId", &dict_id)) return NULL;
  if (!get_bytes(env, argv[5], &out_ro, &out_len)) return NULL;
  if (n == 0 || n > 1u << 20) {
    throw_range(env, "The \"sizes\" argument must list 1..2^20 samples");
    return NULL;
  }
  uint64_t total = 0;
  for (size_t i = 0; i < n; i++) total += sizes[i];
  if (total != samples_len) {
    throw_range(env, "The \"sizes\" argument must add up to the length of \"samples\"");
    return NULL;
  }
  size_t *sz = malloc(n * sizeof *sz);
  if (sz == NULL) {
    napi_throw_error(env, "ERR_SEDIMENT_NOMEM", "zdictFinalize: out of memory");
    return NULL;
  }
  for (size_t i = 0; i < n; i++) sz[i] = sizes[i];
  const char *error = NULL;
  size_t len = sediment_zdict_finalize((uint8_t *)out_ro, out_len, content, content_len, samples, sz, (unsigned)n, (int)level, dict_id, &error);
  free(sz);
  if (len == 0) {
    char message[160];
    snprintf(message, sizeof message, "zstd could not finalize the dictionary: %s", error != NULL ? error : "unknown error");
    napi_throw_error(env, "ERR_SEDIMENT_ZDICT", message);
    return NULL;
  }
  napi_value result;
  NAPI_CHECK(env, napi_create_uint32(env, (uint32_t)len, &result));
  return result;
}

/* exec(argv: string[]): execv(argv[0], argv). Returns the errno (a number) only when it failed. */
static napi_value js_exec(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!get_args(env, info, 1, argv)) return NULL;
  bool is_array = false;
  NAPI_CHECK(env, napi_is_array(env, argv[0], &is_array));
  uint32_t count = 0;
  if (is_array) NAPI_CHECK(env, napi_get_array_length(env, argv[0], &count));
  if (!is_array || count == 0 || count > 4096) {
    throw_type(env, "The \"argv\" argument must be a non-empty array of strings");
    return NULL;
  }
  char **args = calloc((size_t)count + 1, sizeof(char *));
  if (args == NULL) {
    napi_throw_error(env, "ERR_SEDIMENT_NAPI", "out of memory");
    return NULL;
  }
  int err = 0;
  uint32_t filled = 0;
  for (; filled < count; filled++) {
    napi_value item;
    napi_valuetype type;
    size_t len = 0;
    if (napi_get_element(env, argv[0], filled, &item) != napi_ok || napi_typeof(env, item, &type) != napi_ok || type != napi_string ||
        napi_get_value_string_utf8(env, item, NULL, 0, &len) != napi_ok) {
      err = -1;
      break;
    }
    args[filled] = malloc(len + 1);
    if (args[filled] == NULL || napi_get_value_string_utf8(env, item, args[filled], len + 1, &len) != napi_ok || strlen(args[filled]) != len) {
      err = -1; /* a string with a NUL inside cannot be an argument */
      filled++;
      break;
    }
  }
  if (err == 0) err = sediment_exec(args[0], args);
  for (uint32_t i = 0; i < filled; i++) free(args[i]);
  free(args);
  if (err == -1) {
    throw_type(env, "The \"argv\" argument must be a non-empty array of strings without NUL characters");
    return NULL;
  }
  napi_value result;
  NAPI_CHECK(env, napi_create_int32(env, err, &result));
  return result;
}

/* mallocTrim(): boolean — see malloc-tune.h. */
static napi_value js_malloc_trim(napi_env env, napi_callback_info info) {
  napi_value result;
  NAPI_CHECK(env, napi_get_boolean(env, sediment_malloc_trim() == 1, &result));
  return result;
}

/* ---------------------------------------------------------------- log writer (log-writer.h)
 * The JS handle is an external holding a js_lw. Reports travel from the writer thread to the event
 * loop through a thread-safe function, which is unref'd unless JS says work is outstanding
 * (logWriterRef), so an idle writer never keeps the process alive. The submitted buffers are kept
 * alive by the caller (see log-writer.h); only their addresses are passed down. */
struct js_lw {
  struct sediment_lw *w;
  napi_threadsafe_function tsfn;
  bool closed;    /* the thread is stopped */
  bool tsfn_gone; /* the thread-safe function was finalized (released by us, or by the env's teardown) */
  int refs;       /* the external and the thread-safe function: freed when both are finalized */
};

static void lw_report(void *ctx, const struct sediment_lw_report *report) {
  struct js_lw *h = ctx;
  struct sediment_lw_report *copy = malloc(sizeof *copy);
  if (copy == NULL) abort(); /* a lost report would leave writes unacknowledged forever */
  *copy = *report;
  if (napi_call_threadsafe_function(h->tsfn, copy, napi_tsfn_nonblocking) != napi_ok) free(copy);
}

/* onReport(doneSeq, synced, errno, failedOp, failedSeq) on the event loop. */
static void lw_call_js(napi_env env, napi_value js_cb, void *context, void *data) {
  struct sediment_lw_report *r = data;
  if (env != NULL && js_cb != NULL) {
    napi_value argv[5], undefined, ignored;
    if (napi_create_double(env, (double)r->done_seq, &argv[0]) == napi_ok && napi_get_boolean(env, r->synced != 0, &argv[1]) == napi_ok &&
        napi_create_int32(env, r->err, &argv[2]) == napi_ok && napi_create_int32(env, r->failed_op, &argv[3]) == napi_ok &&
        napi_create_double(env, (double)r->failed_seq, &argv[4]) == napi_ok && napi_get_undefined(env, &undefined) == napi_ok) {
      napi_call_function(env, undefined, js_cb, 5, argv, &ignored);
    }
  }
  free(r);
}

/* Stops the thread (after what is queued) and lets the thread-safe function go. Main thread only. */
static void lw_close(struct js_lw *h) {
  if (h->closed) return;
  h->closed = true;
  sediment_lw_stop(h->w); /* finishes what is queued; its reports are still delivered */
  if (!h->tsfn_gone) napi_release_threadsafe_function(h->tsfn, napi_tsfn_release);
}

static void lw_unref(struct js_lw *h) {
  if (--h->refs == 0) free(h);
}

/* The external was collected (or the env is torn down). */
static void lw_finalize(napi_env env, void *data, void *hint) {
  struct js_lw *h = data;
  lw_close(h);
  lw_unref(h);
}

/* The thread-safe function is finalized: after our release, or by the env's teardown, in which case the
 * thread must stop before it could call into it again. */
static void lw_tsfn_finalize(napi_env env, void *data, void *hint) {
  struct js_lw *h = data;
  if (!h->closed) {
    h->closed = true;
    sediment_lw_stop(h->w); /* its reports meanwhile get napi_closing and are dropped */
  }
  h->tsfn_gone = true;
  lw_unref(h);
}

static bool get_lw(napi_env env, napi_value v, struct js_lw **out) {
  napi_valuetype type;
  if (!get_type(env, v, &type)) return false;
  if (type != napi_external) return throw_type(env, "The \"writer\" argument must be a log writer handle");
  void *data = NULL;
  NAPI_CHECK_BOOL(env, napi_get_value_external(env, v, &data));
  *out = data;
  if ((*out)->closed) {
    napi_throw_error(env, "ERR_SEDIMENT_LOG_WRITER_CLOSED", "the log writer is closed");
    return false;
  }
  return true;
}

/* logWriterOpen(fd, onReport): handle */
static napi_value js_lw_open(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int fd = -1;
  if (!get_args(env, info, 2, argv)) return NULL;
  if (!get_fd(env, argv[0], &fd)) return NULL;
  napi_valuetype type;
  if (!get_type(env, argv[1], &type)) return NULL;
  if (type != napi_function) {
    throw_type(env, "The \"onReport\" argument must be a function");
    return NULL;
  }
  struct js_lw *h = calloc(1, sizeof *h);
  if (h == NULL) {
    napi_throw_error(env, "ERR_SEDIMENT_NAPI", "out of memory");
    return NULL;
  }
  napi_value name;
  if (napi_create_string_utf8(env, "sediment.logWriter", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_threadsafe_function(env, argv[1], NULL, name, 0, 1, h, lw_tsfn_finalize, NULL, lw_call_js, &h->tsfn) != napi_ok) {
    free(h);
    throw_napi_failure(env);
    return NULL;
  }
  h->refs = 2;
  napi_unref_threadsafe_function(env, h->tsfn);
  h->w = sediment_lw_start(fd, lw_report, h);
  if (h->w == NULL) {
    h->closed = true; /* no thread to stop: lw_tsfn_finalize only drops its reference */
    h->refs = 1;      /* and frees h */
    napi_release_threadsafe_function(h->tsfn, napi_tsfn_abort);
    napi_throw_error(env, "ERR_SEDIMENT_NAPI", "cannot start the log writer thread");
    return NULL;
  }
  napi_value result;
  if (napi_create_external(env, h, lw_finalize, NULL, &result) != napi_ok) {
    lw_close(h);
    lw_unref(h); /* the external's reference; the thread-safe function's goes with its finalizer */
    throw_napi_failure(env);
    return NULL;
  }
  return result;
}

/* logWriterSubmit(handle, buffers: Uint8Array[], position: number, sync: boolean): sequence number */
static napi_value js_lw_submit(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  struct js_lw *h = NULL;
  if (!get_args(env, info, 4, argv)) return NULL;
  if (!get_lw(env, argv[0], &h)) return NULL;
  bool is_array = false;
  NAPI_CHECK(env, napi_is_array(env, argv[1], &is_array));
  uint32_t count = 0;
  if (is_array) NAPI_CHECK(env, napi_get_array_length(env, argv[1], &count));
  if (!is_array || count > 65536) {
    throw_type(env, "The \"buffers\" argument must be an array of at most 65536 Uint8Arrays");
    return NULL;
  }
  napi_valuetype type;
  if (!get_type(env, argv[2], &type)) return NULL;
  double pos = 0;
  if (type == napi_number) NAPI_CHECK(env, napi_get_value_double(env, argv[2], &pos));
  if (type != napi_number || !(pos >= 0 && pos <= 9007199254740991.0) || pos != (double)(uint64_t)pos) {
    throw_range(env, "The \"position\" argument must be a safe non-negative integer");
    return NULL;
  }
  bool sync = false;
  if (!get_bool(env, argv[3], "sync", &sync)) return NULL;
  struct iovec stack_iov[64];
  struct iovec *iov = count <= 64 ? stack_iov : malloc((size_t)count * sizeof *iov);
  if (iov == NULL) {
    napi_throw_error(env, "ERR_SEDIMENT_NAPI", "out of memory");
    return NULL;
  }
  for (uint32_t i = 0; i < count; i++) {
    napi_value item;
    const uint8_t *data = NULL;
    size_t len = 0;
    if (napi_get_element(env, argv[1], i, &item) != napi_ok) {
      if (iov != stack_iov) free(iov);
      throw_napi_failure(env);
      return NULL;
    }
    if (!get_bytes(env, item, &data, &len)) {
      if (iov != stack_iov) free(iov);
      return NULL;
    }
    iov[i].iov_base = (void *)data;
    iov[i].iov_len = len;
  }
  uint64_t seq = sediment_lw_submit(h->w, iov, (int)count, (uint64_t)pos, sync);
  if (iov != stack_iov) free(iov);
  if (seq == 0) {
    napi_throw_error(env, "ERR_SEDIMENT_NAPI", "out of memory");
    return NULL;
  }
  napi_value result;
  NAPI_CHECK(env, napi_create_double(env, (double)seq, &result));
  return result;
}

/* logWriterResume(handle): after a failure was handled, drops the queue and accepts writes again. */
static napi_value js_lw_resume(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  struct js_lw *h = NULL;
  if (!get_args(env, info, 1, argv)) return NULL;
  if (!get_lw(env, argv[0], &h)) return NULL;
  sediment_lw_resume(h->w);
  return NULL;
}

/* logWriterRef(handle, ref: boolean): whether pending reports keep the event loop alive. */
static napi_value js_lw_ref(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  struct js_lw *h = NULL;
  bool ref = false;
  if (!get_args(env, info, 2, argv)) return NULL;
  if (!get_lw(env, argv[0], &h)) return NULL;
  if (!get_bool(env, argv[1], "ref", &ref)) return NULL;
  NAPI_CHECK(env, ref ? napi_ref_threadsafe_function(env, h->tsfn) : napi_unref_threadsafe_function(env, h->tsfn));
  return NULL;
}

/* logWriterClose(handle): finishes what is queued, stops the thread. Idempotent. */
static napi_value js_lw_close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!get_args(env, info, 1, argv)) return NULL;
  napi_valuetype type;
  if (!get_type(env, argv[0], &type)) return NULL;
  if (type != napi_external) {
    throw_type(env, "The \"writer\" argument must be a log writer handle");
    return NULL;
  }
  void *data = NULL;
  NAPI_CHECK(env, napi_get_value_external(env, argv[0], &data));
  lw_close(data);
  return NULL;
}

static napi_value js_md5_blocks(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  const uint8_t *states_ro = NULL;
  size_t states_len = 0;
  uint32_t n = 0;
  struct md5_path path;
  bool is_array = false;
  if (!get_args(env, info, 3, argv)) return NULL;
  if (!get_bytes(env, argv[0], &states_ro, &states_len)) return NULL;
  NAPI_CHECK(env, napi_is_array(env, argv[1], &is_array));
  if (!is_array) {
    throw_type(env, "The \"datas\" argument must be an array of Uint8Array");
    return NULL;
  }
  NAPI_CHECK(env, napi_get_array_length(env, argv[1], &n));
  if (!get_md5_path(env, argv[2], &path)) return NULL;
  if (n > MD5_JOBS_MAX || states_len < 16 * (size_t)n) {
    throw_range(env, "The \"states\" argument must hold 16 bytes per stream (at most 2^20 streams)");
    return NULL;
  }
  struct sediment_md5_job on_stack[MD5_JOBS_ON_STACK];
  uint32_t words_on_stack[4 * MD5_JOBS_ON_STACK];
  struct sediment_md5_job *jobs = n <= MD5_JOBS_ON_STACK ? on_stack : malloc(n * sizeof *jobs);
  uint32_t *words = n <= MD5_JOBS_ON_STACK ? words_on_stack : malloc(4 * (size_t)n * sizeof *words);
  if (jobs == NULL || words == NULL) {
    if (jobs != on_stack) free(jobs);
    if (words != words_on_stack) free(words);
    napi_throw_error(env, "ERR_SEDIMENT_NOMEM", "md5Blocks: out of memory");
    return NULL;
  }
  uint8_t *states = (uint8_t *)states_ro;
  const char *bad = NULL;
  for (uint32_t i = 0; i < n && bad == NULL; i++) {
    napi_value v;
    const uint8_t *data = NULL;
    size_t len = 0;
    if (napi_get_element(env, argv[1], i, &v) != napi_ok || !get_bytes(env, v, &data, &len)) {
      bad = "";
      break;
    }
    if (len % 64 != 0) bad = "Every element of \"datas\" must be a multiple of 64 bytes long";
    for (int w = 0; w < 4; w++) words[4 * i + w] = (uint32_t)states[16 * i + 4 * w] | ((uint32_t)states[16 * i + 4 * w + 1] << 8) | ((uint32_t)states[16 * i + 4 * w + 2] << 16) | ((uint32_t)states[16 * i + 4 * w + 3] << 24);
    jobs[i].data = data;
    jobs[i].len = len;
    jobs[i].digest = NULL;
    jobs[i].state = &words[4 * i];
  }
  int used = 0;
  if (bad == NULL) {
    used = md5_run(jobs, n, &path);
    if (used >= 0) {
      for (uint32_t i = 0; i < n; i++) {
        for (int w = 0; w < 4; w++) {
          const uint32_t x = words[4 * i + w];
          states[16 * i + 4 * w] = (uint8_t)x;
          states[16 * i + 4 * w + 1] = (uint8_t)(x >> 8);
          states[16 * i + 4 * w + 2] = (uint8_t)(x >> 16);
          states[16 * i + 4 * w + 3] = (uint8_t)(x >> 24);
        }
      }
    }
  }
  if (jobs != on_stack) free(jobs);
  if (words != words_on_stack) free(words);
  if (bad != NULL) {
    if (bad[0] != '\0') throw_range(env, bad); /* else get_bytes has thrown */
    return NULL;
  }
  return lanes_result(env, used);
}

NAPI_MODULE_INIT() {
  if (pthread_once(&init_once, init_tables) != 0) {
    napi_throw_error(env, "ERR_SEDIMENT_NAPI", "sediment_native: initialisation failed");
    return NULL;
  }
  napi_property_descriptor props[] = {
      {"crc32c", NULL, js_crc32c, NULL, NULL, NULL, napi_enumerable, NULL},
      {"crc32cTable", NULL, js_crc32c_table, NULL, NULL, NULL, napi_enumerable, NULL},
      {"crc64nvme", NULL, js_crc64nvme, NULL, NULL, NULL, napi_enumerable, NULL},
      {"crc64nvmeTable", NULL, js_crc64nvme_table, NULL, NULL, NULL, napi_enumerable, NULL},
      {"xxh64", NULL, js_xxh64, NULL, NULL, NULL, napi_enumerable, NULL},
      {"schedBatch", NULL, js_sched_batch, NULL, NULL, NULL, napi_enumerable, NULL},
      {"flock", NULL, js_flock, NULL, NULL, NULL, napi_enumerable, NULL},
      {"cpuFeatures", NULL, js_cpu_features, NULL, NULL, NULL, napi_enumerable, NULL},
      {"md5Many", NULL, js_md5_many, NULL, NULL, NULL, napi_enumerable, NULL},
      {"md5Blocks", NULL, js_md5_blocks, NULL, NULL, NULL, napi_enumerable, NULL},
      {"preadNoWait", NULL, js_pread_nowait, NULL, NULL, NULL, napi_enumerable, NULL},
      {"copyBytes", NULL, js_copy_bytes, NULL, NULL, NULL, napi_enumerable, NULL},
      {"exec", NULL, js_exec, NULL, NULL, NULL, napi_enumerable, NULL},
      {"mallocTrim", NULL, js_malloc_trim, NULL, NULL, NULL, napi_enumerable, NULL},
      {"zdictAvailable", NULL, js_zdict_available, NULL, NULL, NULL, napi_enumerable, NULL},
      {"zdictFinalize", NULL, js_zdict_finalize, NULL, NULL, NULL, napi_enumerable, NULL},
      {"logWriterOpen", NULL, js_lw_open, NULL, NULL, NULL, napi_enumerable, NULL},
      {"logWriterSubmit", NULL, js_lw_submit, NULL, NULL, NULL, napi_enumerable, NULL},
      {"logWriterResume", NULL, js_lw_resume, NULL, NULL, NULL, napi_enumerable, NULL},
      {"logWriterRef", NULL, js_lw_ref, NULL, NULL, NULL, napi_enumerable, NULL},
      {"logWriterClose", NULL, js_lw_close, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  NAPI_CHECK(env, napi_define_properties(env, exports, sizeof props / sizeof props[0], props));
  return exports;
}
