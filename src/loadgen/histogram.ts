// A latency histogram with bounded memory and bounded relative error: values in microseconds go into
// log-linear buckets (exact below 64 µs, then 32 buckets per power of two: at most ~3% error), so
// millions of samples cost 1,056 counters, histograms from several workers merge by adding counters,
// and percentiles are read without sorting. Max, min and sum are exact.

const LINEAR = 64;
const SUB_BITS = 5;
const SUB = 1 << SUB_BITS;
const EXP_MIN = 6; // log2(LINEAR)
const EXP_MAX = 31;
export const HISTOGRAM_BUCKETS = LINEAR + (EXP_MAX - EXP_MIN + 1) * SUB;
/** Values are clamped here (about 71 minutes). */
export const HISTOGRAM_VALUE_MAX_US = 2 ** 32 - 1;

function bucketOf(us: number): number {
  if (us < LINEAR) return us;
  const exp = 31 - Math.clz32(us);
  return LINEAR + (exp - EXP_MIN) * SUB + ((us >>> (exp - SUB_BITS)) & (SUB - 1));
}

/** The midpoint of a bucket's value range. */
function bucketValue(index: number): number {
  if (index < LINEAR) return index;
  const exp = EXP_MIN + Math.floor((index - LINEAR) / SUB);
  const sub = (index - LINEAR) % SUB;
  const width = 2 ** (exp - SUB_BITS);
  return 2 ** exp + sub * width + width / 2;
}

export interface HistogramSnapshot {
  counts: number[];
  count: number;
  sumUs: number;
  minUs: number;
  maxUs: number;
}

export interface LatencySummary {
  count: number;
  meanMs: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
}

export class LatencyHistogram {
  private readonly counts = new Float64Array(HISTOGRAM_BUCKETS);
  count = 0;
  sumUs = 0;
  minUs = Infinity;
  maxUs = 0;

  /** Records one latency given in milliseconds (performance.now() differences). */
  recordMs(ms: number): void {
    const us = Math.min(HISTOGRAM_VALUE_MAX_US, Math.max(0, Math.round(ms * 1000)));
    this.counts[bucketOf(us)]++;
    this.count++;
    this.sumUs += us;
    if (us < this.minUs) this.minUs = us;
    if (us > this.maxUs) this.maxUs = us;
  }

  /** The value at quantile q in [0, 1], in microseconds (bucket midpoint, capped at the exact max). */
  quantileUs(q: number): number {
    if (this.count === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (let i = 0; i < HISTOGRAM_BUCKETS; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return Math.min(this.maxUs, Math.max(this.minUs, bucketValue(i)));
    }
    return this.maxUs;
  }

  merge(other: LatencyHistogram | HistogramSnapshot): void {
    if (other.count === 0) return;
    const counts: ArrayLike<number> = other instanceof LatencyHistogram ? other.counts : other.counts;
    for (let i = 0; i < HISTOGRAM_BUCKETS; i++) this.counts[i]! += counts[i] ?? 0;
    this.count += other.count;
    this.sumUs += other.sumUs;
    this.minUs = Math.min(this.minUs, other.minUs);
    this.maxUs = Math.max(this.maxUs, other.maxUs);
  }

  /** A plain object (for postMessage and JSON); LatencyHistogram.from() restores it. */
  snapshot(): HistogramSnapshot {
    return { counts: Array.from(this.counts), count: this.count, sumUs: this.sumUs, minUs: this.count === 0 ? 0 : this.minUs, maxUs: this.maxUs };
  }

  static from(s: HistogramSnapshot): LatencyHistogram {
    const h = new LatencyHistogram();
    h.merge(s);
    return h;
  }

  summary(): LatencySummary {
    return {
      count: this.count,
      meanMs: this.count === 0 ? 0 : this.sumUs / this.count / 1000,
      p50Ms: this.quantileUs(0.5) / 1000,
      p90Ms: this.quantileUs(0.9) / 1000,
      p99Ms: this.quantileUs(0.99) / 1000,
      maxMs: this.maxUs / 1000,
    };
  }
}
