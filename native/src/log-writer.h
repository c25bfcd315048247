/* A log writer thread: the single writer of one append-only file, with group commit.
 *
 * The event loop hands it writes (iovecs at a file position, in log order) and returns at once. The
 * thread takes everything queued (up to LW_CYCLE_BYTES), writes it in order with pwritev, then, if any
 * write of the cycle asked for it, calls fdatasync once, and reports the cycle: "every write up to
 * sequence number N is written (and synced)". Writes that arrive during a cycle form the next one, so a
 * sync starts as soon as the previous one ends, without waiting for the event loop in between.
 *
 * Contracts:
 * - Writes happen in submission order; a report covers a prefix of the submissions.
 * - The caller keeps every buffer it submitted alive and unchanged until a report covers it (or says it
 *   was dropped): the thread holds only pointers.
 * - After a failed write or sync the writer is halted: what is queued and what is submitted later is
 *   dropped unreported (the report of the failure says which submissions that concerns: every one after
 *   done_seq), until sediment_lw_resume() clears the queue and lets writes through again.
 * - Reports are delivered through the callback, on the writer thread, one per cycle.
 */
#ifndef SEDIMENT_LOG_WRITER_H
#define SEDIMENT_LOG_WRITER_H

#include <stdint.h>
#include <sys/uio.h>

/* A cycle writes at most this many bytes (at least one submission) before it reports. */
#define LW_CYCLE_BYTES (32u << 20)

struct sediment_lw_report {
  uint64_t done_seq;  /* every submission up to here is written (and synced if `synced`) */
  int synced;         /* an fdatasync that started after those writes completed */
  int err;            /* errno of a failure, 0 if none */
  int failed_op;      /* 0: a write failed (at failed_seq); 1: the sync of the cycle failed */
  uint64_t failed_seq;
};

typedef void (*sediment_lw_report_fn)(void *ctx, const struct sediment_lw_report *report);

struct sediment_lw;

/* Starts the thread. Returns NULL (errno set) if it cannot. */
struct sediment_lw *sediment_lw_start(int fd, sediment_lw_report_fn report, void *ctx);

/* Queues a write of `iov` at `pos` (the iovec array is copied, not the bytes). Returns its sequence
 * number (1, 2, ...), or 0 if out of memory. `sync`: an fdatasync must follow it before it is reported. */
uint64_t sediment_lw_submit(struct sediment_lw *w, const struct iovec *iov, int iovcnt, uint64_t pos, int sync);

/* After a failure was handled: drops whatever is queued and accepts writes again. */
void sediment_lw_resume(struct sediment_lw *w);

/* Lets the thread finish what is queued, joins it and frees the writer. */
void sediment_lw_stop(struct sediment_lw *w);

#endif
