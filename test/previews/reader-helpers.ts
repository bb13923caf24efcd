/** What the reader tests share: refusals, and mutations of a file for a small fuzz. */
import assert from 'node:assert/strict';
import { PreviewError } from '../../proxy/previews/preview-errors.ts';
import { DEFAULT_PREVIEW_LIMITS } from '../../proxy/previews/preview-limits.ts';
import type { TableLimits } from '../../proxy/previews/sheets/table-shape.ts';

export const LIMITS: TableLimits = DEFAULT_PREVIEW_LIMITS;

/** The PreviewError a read ends in (it must end in one). */
export async function refusal(read: () => unknown): Promise<PreviewError> {
  try {
    await read();
  } catch (error) {
    assert.ok(error instanceof PreviewError, `a PreviewError, not ${String(error)}`);
    return error;
  }
  assert.fail('expected a refusal');
}

/** A deterministic generator (mulberry32), so a failing mutation can be replayed. */
export function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Copies of `file` with a few bytes overwritten, a cut, or a run of 0xff (sector numbers gone bad). */
export function* mutations(file: Buffer, count: number, seed: number): Generator<Buffer> {
  const next = random(seed);
  for (let i = 0; i < count; i++) {
    const copy = Buffer.from(file);
    const kind = i % 3;
    if (kind === 0) {
      for (let n = 0; n < 1 + Math.floor(next() * 8); n++)
        copy[Math.floor(next() * copy.length)] = Math.floor(next() * 256);
      yield copy;
    } else if (kind === 1) {
      yield copy.subarray(0, Math.floor(next() * copy.length));
    } else {
      const at = Math.floor(next() * copy.length);
      copy.fill(0xff, at, Math.min(copy.length, at + 4 + Math.floor(next() * 12)));
      yield copy;
    }
  }
}

/** A mutated file reads to a table or a PreviewError: anything else (a RangeError, a crash) is a bug. */
export async function readsOrRefuses(read: () => unknown): Promise<void> {
  try {
    await read();
  } catch (error) {
    assert.ok(error instanceof PreviewError, `mutated file: a PreviewError, not ${String((error as Error)?.stack)}`);
  }
}
