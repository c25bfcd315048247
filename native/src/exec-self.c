/* See exec-self.h. */
#include "exec-self.h"

#include <errno.h>
#if defined(__unix__) || defined(__APPLE__)
#include <fcntl.h>
#include <unistd.h>
#endif

int sediment_exec(const char *path, char *const argv[]) {
#if defined(__unix__) || defined(__APPLE__)
  /* Node marks its stdio descriptors close-on-exec; the new image must write where this one did. */
  for (int fd = 0; fd <= 2; fd++) {
    int flags = fcntl(fd, F_GETFD);
    if (flags >= 0 && (flags & FD_CLOEXEC)) fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC);
  }
  execv(path, argv);
  return errno;
#else
  (void)path;
  (void)argv;
  return ENOSYS;
#endif
}
