/* Reads from the page cache only: preadv2(RWF_NOWAIT) never waits for the disk, so a caller on an event
 * loop can try it synchronously and fall back to an asynchronous read when the bytes are not cached. */
#ifndef SEDIMENT_PREAD_NOWAIT_H
#define SEDIMENT_PREAD_NOWAIT_H

#include <stddef.h>
#include <stdint.h>

#define SEDIMENT_PREAD_WOULD_BLOCK (-1) /* not (all) cached, a short read, or any error: read asynchronously */
#define SEDIMENT_PREAD_UNSUPPORTED (-2) /* no preadv2 / RWF_NOWAIT on this system or file system */

/* Returns `len` when all `len` bytes at `pos` were copied into `buf`, else one of the codes above. */
int64_t sediment_pread_nowait(int fd, uint8_t *buf, size_t len, uint64_t pos);

#endif
