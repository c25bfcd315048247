/* glibc malloc upkeep for a long-running server that streams large buffers through many threads. */
#ifndef SEDIMENT_MALLOC_TUNE_H
#define SEDIMENT_MALLOC_TUNE_H

/* Returns the free memory of every malloc arena to the system (glibc malloc_trim(0), which also releases
 * whole free pages in the middle of a heap, not only at its top). Returns 1 if memory was released, 0 if
 * none was or this is not glibc. */
int sediment_malloc_trim(void);

#endif
