/* See exec-self.h. */
#include "exec-self.h"

#include <errno.h>
#if defined(__unix__) || defined(__APPLE__)
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>
#endif

int sediment_exec(const char *path, char *const argv[]) {
#if defined(__unix__) || defined(__APPLE__)
  /* Node marks its stdio descriptors close-on-exec; the new image must write where this one did. */
  for (int fd = 0; fd <= 2; fd++) {
    int flags = fcntl(fd, F_GETFD);
    if (flags >= 0 && (flags & FD_CLOEXEC)) fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC);
  }
  /* A process run with `node --cpu-prof` is sampled with SIGPROF, sent to this thread by V8's profiler
   * thread. A signal still pending when execv replaces the image stays pending, and in the new image
   * SIGPROF has its default action: the process dies ("Profiling timer expired"). Ignoring SIGPROF
   * drops any pending one and any sent until the old threads are gone; the new image's profiler installs
   * its own handler. If execv fails, the old action is put back. */
  struct sigaction ignore, previous;
  ignore.sa_handler = SIG_IGN;
  ignore.sa_flags = 0;
  sigemptyset(&ignore.sa_mask);
  int saved = sigaction(SIGPROF, &ignore, &previous) == 0;
  execv(path, argv);
  int err = errno;
  if (saved) sigaction(SIGPROF, &previous, NULL);
  return err;
#else
  (void)path;
  (void)argv;
  return ENOSYS;
#endif
}
