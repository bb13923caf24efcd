/** Order statistics over samples (milliseconds, bytes/s, ...): what every row of the table shows. */
export interface Summary {
  median: number;
  p95: number;
  count: number;
}

export function quantile(samples: readonly number[], q: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

export function summarize(samples: readonly number[]): Summary {
  return { median: quantile(samples, 0.5), p95: quantile(samples, 0.95), count: samples.length };
}

/** Wall time of `work` in milliseconds. */
export async function timed(work: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await work();
  return performance.now() - start;
}

/**
 * Runs `a` and `b` in alternation (A B A B ...), `runs` times each after `warmup` untimed
 * pairs, so drift (page cache, CPU frequency, kernel state) hits both sides alike.
 */
export async function alternate(
  runs: number,
  warmup: number,
  a: () => Promise<number>,
  b: () => Promise<number>,
): Promise<{ a: number[]; b: number[] }> {
  for (let i = 0; i < warmup; i++) {
    await a();
    await b();
  }
  const out = { a: [] as number[], b: [] as number[] };
  for (let i = 0; i < runs; i++) {
    // Swap which side goes first every other pair: neither always follows the other.
    if (i % 2 === 0) {
      out.a.push(await a());
      out.b.push(await b());
    } else {
      out.b.push(await b());
      out.a.push(await a());
    }
  }
  return out;
}

/**
 * Runs several arms round robin (A B C, B C A, C A B, ...), `runs` times each after `warmup`
 * untimed rounds: drift hits every arm alike, and no arm always follows the same other one.
 */
export async function roundRobin(
  runs: number,
  warmup: number,
  arms: readonly (() => Promise<number>)[],
): Promise<number[][]> {
  for (let i = 0; i < warmup; i++) for (const arm of arms) await arm();
  const out = arms.map(() => [] as number[]);
  for (let i = 0; i < runs; i++) {
    for (let k = 0; k < arms.length; k++) {
      const index = (i + k) % arms.length;
      out[index]!.push(await arms[index]!());
    }
  }
  return out;
}

/** A difference in ms with its sign, as "+1.32 ms" or "−37.54 ms". */
export function signedMs(ms: number, digits = 2): string {
  return `${ms < 0 ? '−' : '+'}${Math.abs(ms).toFixed(digits)} ms`;
}
