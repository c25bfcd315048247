/* Replaces the running process image with another program, keeping the process id, stdin/stdout/stderr
 * (their close-on-exec flag is cleared first), other descriptors without FD_CLOEXEC, and the environment
 * as it is now (changes made with setenv included). The server uses it once at start to restart Node with
 * V8 heap flags that can only be given on the command line. */
#ifndef SEDIMENT_EXEC_SELF_H
#define SEDIMENT_EXEC_SELF_H

/* Does not return on success; returns the errno of the failed execv otherwise (or ENOSYS off POSIX). */
int sediment_exec(const char *path, char *const argv[]);

#endif
