/* See pread-nowait.h. A partial read (some pages cached, some not, or end of file) is reported as
 * "would block": the asynchronous path then reads the whole range and reports short reads itself. */
#define _GNU_SOURCE
#include "pread-nowait.h"

#include <errno.h>
#include <sys/uio.h>

int64_t sediment_pread_nowait(int fd, uint8_t *buf, size_t len, uint64_t pos) {
#if defined(__linux__) && defined(RWF_NOWAIT)
  struct iovec iov = {.iov_base = buf, .iov_len = len};
  ssize_t n;
  do {
    n = preadv2(fd, &iov, 1, (off_t)pos, RWF_NOWAIT);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return (errno == ENOSYS || errno == EOPNOTSUPP) ? SEDIMENT_PREAD_UNSUPPORTED : SEDIMENT_PREAD_WOULD_BLOCK;
  return (size_t)n == len ? (int64_t)n : SEDIMENT_PREAD_WOULD_BLOCK;
#else
  (void)fd;
  (void)buf;
  (void)len;
  (void)pos;
  return SEDIMENT_PREAD_UNSUPPORTED;
#endif
}
