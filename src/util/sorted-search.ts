// Binary search in an ascending Float64Array (record offsets, packed record keys).

/** The index of `value` in the ascending array `a`, or -1 when it is absent. */
export function indexOfSorted(a: Float64Array, value: number): number {
  let lo = 0;
  let hi = a.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const v = a[mid];
    if (v === value) return mid;
    if (v < value) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}
