#include "file-lock.h"

#include <errno.h>
#include <stddef.h>

#ifndef _WIN32
#include <sys/file.h>
#endif

enum sediment_flock_result sediment_flock(int fd, bool exclusive, bool non_blocking, int *err) {
#ifdef _WIN32
  (void)fd;
  (void)exclusive;
  (void)non_blocking;
  *err = ENOSYS;
  return SEDIMENT_FLOCK_FAILED;
#else
  int op = (exclusive ? LOCK_EX : LOCK_SH) | (non_blocking ? LOCK_NB : 0);
  for (;;) {
    if (flock(fd, op) == 0) return SEDIMENT_FLOCK_ACQUIRED;
    if (errno == EINTR) continue;
    if (errno == EWOULDBLOCK || errno == EAGAIN) return SEDIMENT_FLOCK_WOULD_BLOCK;
    *err = errno;
    return SEDIMENT_FLOCK_FAILED;
  }
#endif
}

struct errno_entry {
  int value;
  const char *name;
  const char *text;
};

/* The errors flock(2) documents, plus a few that a wrong descriptor can produce. */
static const struct errno_entry errno_entries[] = {
    {EBADF, "EBADF", "bad file descriptor"},
    {EINTR, "EINTR", "interrupted system call"},
    {EINVAL, "EINVAL", "invalid argument"},
    {ENOLCK, "ENOLCK", "no locks available"},
    {EWOULDBLOCK, "EWOULDBLOCK", "operation would block"},
    {EACCES, "EACCES", "permission denied"},
    {EPERM, "EPERM", "operation not permitted"},
    {EIO, "EIO", "input/output error"},
    {ENOMEM, "ENOMEM", "out of memory"},
    {ENOSYS, "ENOSYS", "function not implemented"},
#ifdef EOPNOTSUPP
    {EOPNOTSUPP, "EOPNOTSUPP", "operation not supported"},
#endif
};

static const struct errno_entry *find(int err) {
  for (size_t i = 0; i < sizeof errno_entries / sizeof errno_entries[0]; i++) {
    if (errno_entries[i].value == err) return &errno_entries[i];
  }
  return NULL;
}

const char *sediment_errno_name(int err) {
  const struct errno_entry *e = find(err);
  return e ? e->name : "UNKNOWN";
}

const char *sediment_errno_text(int err) {
  const struct errno_entry *e = find(err);
  return e ? e->text : "unknown system error";
}
