/* flock(2) for the data-directory lock. The kernel drops the lock when the last descriptor of
 * the open file description closes, including when the process is killed (SIGKILL), so a stale
 * lock never outlives its owner. Locks belong to the open file description: a second open() of the
 * same file in the same process is a different owner and is refused with LOCK_NB. */
#ifndef SEDIMENT_FILE_LOCK_H
#define SEDIMENT_FILE_LOCK_H

#include <stdbool.h>

enum sediment_flock_result {
  SEDIMENT_FLOCK_ACQUIRED = 0,
  SEDIMENT_FLOCK_WOULD_BLOCK = 1,
  SEDIMENT_FLOCK_FAILED = 2, /* *err holds errno */
};

/* Blocking mode retries on EINTR; it blocks the calling thread until the lock is granted. */
enum sediment_flock_result sediment_flock(int fd, bool exclusive, bool non_blocking, int *err);

/* Symbolic name ("EBADF") and a short description for an errno value; never NULL. */
const char *sediment_errno_name(int err);
const char *sediment_errno_text(int err);

#endif
