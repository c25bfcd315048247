/* See log-writer.h. */
#define _GNU_SOURCE
#include "log-writer.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef IOV_MAX
#define IOV_MAX 1024
#endif

struct lw_op {
  struct lw_op *next;
  uint64_t seq;
  uint64_t pos;
  uint64_t bytes;
  int sync;
  int iovcnt;
  struct iovec iov[];
};

struct sediment_lw {
  int fd;
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  struct lw_op *head, *tail;
  uint64_t next_seq; /* only the submitting thread touches it */
  int stop;
  int halted;
  sediment_lw_report_fn report;
  void *ctx;
};

static void free_ops(struct lw_op *op) {
  while (op != NULL) {
    struct lw_op *next = op->next;
    free(op);
    op = next;
  }
}

/* Writes all of op's bytes at its position; returns 0 or an errno. Advances op->iov as it goes. */
static int write_all(int fd, struct lw_op *op) {
  struct iovec *iov = op->iov;
  int cnt = op->iovcnt;
  uint64_t pos = op->pos;
  while (cnt > 0) {
    if (iov->iov_len == 0) {
      iov++;
      cnt--;
      continue;
    }
    ssize_t n = pwritev(fd, iov, cnt > IOV_MAX ? IOV_MAX : cnt, (off_t)pos);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (n == 0) return EIO; /* no progress on a regular file: treat as an I/O error, never spin */
    pos += (uint64_t)n;
    size_t left = (size_t)n;
    while (cnt > 0 && left >= iov->iov_len) {
      left -= iov->iov_len;
      iov++;
      cnt--;
    }
    if (cnt > 0 && left > 0) {
      iov->iov_base = (char *)iov->iov_base + left;
      iov->iov_len -= left;
    }
  }
  return 0;
}

static int datasync(int fd) {
  for (;;) {
    if (fdatasync(fd) == 0) return 0;
    if (errno != EINTR) return errno;
  }
}

static void *run(void *arg) {
  struct sediment_lw *w = arg;
  pthread_mutex_lock(&w->mu);
  for (;;) {
    while (w->head == NULL && !w->stop) pthread_cond_wait(&w->cv, &w->mu);
    if (w->head == NULL) break; /* stopping, nothing left */
    /* Take a cycle: at least one submission, at most LW_CYCLE_BYTES. */
    struct lw_op *first = w->head, *last = first;
    uint64_t bytes = first->bytes;
    while (last->next != NULL && bytes + last->next->bytes <= LW_CYCLE_BYTES) {
      last = last->next;
      bytes += last->bytes;
    }
    w->head = last->next;
    if (w->head == NULL) w->tail = NULL;
    last->next = NULL;
    int halted = w->halted;
    pthread_mutex_unlock(&w->mu);

    if (halted) {
      free_ops(first); /* submitted after a failure and before resume: dropped */
      pthread_mutex_lock(&w->mu);
      continue;
    }
    struct sediment_lw_report r = {.done_seq = last->seq, .synced = 0, .err = 0, .failed_op = 0, .failed_seq = 0};
    int want_sync = 0;
    for (struct lw_op *op = first; op != NULL; op = op->next) {
      int err = write_all(w->fd, op);
      if (err != 0) {
        r.err = err;
        r.failed_op = 0;
        r.failed_seq = op->seq;
        r.done_seq = op->seq - 1;
        break;
      }
      want_sync |= op->sync;
    }
    if (r.err == 0 && want_sync) {
      int err = datasync(w->fd);
      if (err != 0) {
        /* Nothing of this cycle is known durable: report none of it as done. */
        r.err = err;
        r.failed_op = 1;
        r.failed_seq = first->seq;
        r.done_seq = first->seq - 1;
      } else {
        r.synced = 1;
      }
    }
    free_ops(first);
    if (r.err != 0) {
      pthread_mutex_lock(&w->mu);
      w->halted = 1;
      pthread_mutex_unlock(&w->mu);
    }
    w->report(w->ctx, &r);
    pthread_mutex_lock(&w->mu);
  }
  pthread_mutex_unlock(&w->mu);
  return NULL;
}

struct sediment_lw *sediment_lw_start(int fd, sediment_lw_report_fn report, void *ctx) {
  struct sediment_lw *w = calloc(1, sizeof *w);
  if (w == NULL) return NULL;
  w->fd = fd;
  w->report = report;
  w->ctx = ctx;
  w->next_seq = 1;
  if (pthread_mutex_init(&w->mu, NULL) != 0) {
    free(w);
    return NULL;
  }
  if (pthread_cond_init(&w->cv, NULL) != 0) {
    pthread_mutex_destroy(&w->mu);
    free(w);
    return NULL;
  }
  int err = pthread_create(&w->thread, NULL, run, w);
  if (err != 0) {
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    free(w);
    errno = err;
    return NULL;
  }
  return w;
}

uint64_t sediment_lw_submit(struct sediment_lw *w, const struct iovec *iov, int iovcnt, uint64_t pos, int sync) {
  struct lw_op *op = malloc(sizeof *op + (size_t)iovcnt * sizeof(struct iovec));
  if (op == NULL) return 0;
  uint64_t seq = w->next_seq++;
  op->next = NULL;
  op->seq = seq;
  op->pos = pos;
  op->sync = sync;
  op->iovcnt = iovcnt;
  op->bytes = 0;
  for (int i = 0; i < iovcnt; i++) {
    op->iov[i] = iov[i];
    op->bytes += iov[i].iov_len;
  }
  pthread_mutex_lock(&w->mu);
  if (w->tail != NULL) w->tail->next = op;
  else w->head = op;
  w->tail = op;
  pthread_cond_signal(&w->cv);
  pthread_mutex_unlock(&w->mu);
  return seq; /* not op->seq: the thread may have written and freed op already */
}

void sediment_lw_resume(struct sediment_lw *w) {
  pthread_mutex_lock(&w->mu);
  struct lw_op *dropped = w->head;
  w->head = w->tail = NULL;
  w->halted = 0;
  pthread_mutex_unlock(&w->mu);
  free_ops(dropped);
}

void sediment_lw_stop(struct sediment_lw *w) {
  pthread_mutex_lock(&w->mu);
  w->stop = 1;
  pthread_cond_signal(&w->cv);
  pthread_mutex_unlock(&w->mu);
  pthread_join(w->thread, NULL);
  free_ops(w->head);
  pthread_cond_destroy(&w->cv);
  pthread_mutex_destroy(&w->mu);
  free(w);
}
