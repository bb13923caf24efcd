import type { RowChange, SheetDiff } from '../../contract/files-api.ts';
import type { Table } from './sheets/table-shape.ts';

const sameRow = (a: readonly string[], b: readonly string[]) => {
  const length = Math.max(a.length, b.length);
  for (let i = 0; i < length; i++) if ((a[i] ?? '') !== (b[i] ?? '')) return false;
  return true;
};

/** The first column's values, when they are non-empty and unique: then rows are matched by them. */
function keysOf(rows: readonly string[][]): Map<string, string[]> | null {
  const keys = new Map<string, string[]>();
  for (const row of rows) {
    const key = row[0] ?? '';
    if (key === '' || keys.has(key)) return null;
    keys.set(key, row);
  }
  return keys;
}

/** Rows added, removed and changed between two versions of one sheet; the first row is the header. */
function diffSheet(name: string, before: Table | undefined, after: Table | undefined, listedRows: number): SheetDiff {
  const [headBefore = [], ...bodyBefore] = before?.rows ?? [];
  const [headAfter = [], ...bodyAfter] = after?.rows ?? [];
  const status: SheetDiff['status'] = !before ? 'added' : !after ? 'removed' : 'same';
  const counts = { added: 0, removed: 0, changed: 0 };
  const rows: RowChange[] = [];
  const note = (change: RowChange) => {
    counts[change.change]++;
    if (rows.length < listedRows) rows.push(change);
  };
  const keysBefore = keysOf(bodyBefore);
  const keysAfter = keysBefore && keysOf(bodyAfter);
  const byKey = Boolean(keysBefore && keysAfter && before && after);
  if (byKey) {
    for (const [key, row] of keysBefore!) {
      const next = keysAfter!.get(key);
      if (!next) note({ change: 'removed', key, before: row });
      else if (!sameRow(row, next)) note({ change: 'changed', key, before: row, after: next });
    }
    for (const [key, row] of keysAfter!) if (!keysBefore!.has(key)) note({ change: 'added', key, after: row });
  } else {
    const length = Math.max(bodyBefore.length, bodyAfter.length);
    for (let i = 0; i < length; i++) {
      const a = bodyBefore[i];
      const b = bodyAfter[i];
      const key = `row ${i + 1}`;
      if (!a) note({ change: 'added', key, after: b! });
      else if (!b) note({ change: 'removed', key, before: a });
      else if (!sameRow(a, b)) note({ change: 'changed', key, before: a, after: b });
    }
  }
  const headerChanged = Boolean(before && after && !sameRow(headBefore, headAfter));
  const changed = status === 'same' && (headerChanged || counts.added + counts.removed + counts.changed > 0);
  return {
    name,
    status: changed ? 'changed' : status,
    keyColumn: byKey ? (headAfter[0] ?? headBefore[0] ?? '') : null,
    counts,
    header: after ? headAfter : headBefore,
    rows,
    truncated: counts.added + counts.removed + counts.changed > rows.length,
  };
}

/** Sheets matched by name, in the newer version's order, then sheets that were removed. */
export function diffWorkbooks(before: readonly Table[], after: readonly Table[], listedRows: number): SheetDiff[] {
  const old = new Map(before.map((t) => [t.name, t]));
  const diffs = after.map((t) => diffSheet(t.name, old.get(t.name), t, listedRows));
  for (const t of before)
    if (!after.some((a) => a.name === t.name)) diffs.push(diffSheet(t.name, t, undefined, listedRows));
  return diffs;
}

/** A unified line diff with the `diff` package; null when it gave up within `timeoutMs`. */
export async function diffText(
  before: string,
  after: string,
  labels: { from: string; to: string },
  timeoutMs: number,
): Promise<{ patch: string; counts: { added: number; removed: number } } | null> {
  const { createTwoFilesPatch } = await import('diff');
  const patch = createTwoFilesPatch(labels.from, labels.to, before, after, undefined, undefined, {
    context: 3,
    timeout: timeoutMs,
  });
  if (patch === undefined) return null;
  const counts = { added: 0, removed: 0 };
  let inHunks = false;
  for (const line of patch.split('\n')) {
    // Before the first hunk come the `---`/`+++` file headers: not changes.
    if (line.startsWith('@@')) inHunks = true;
    else if (!inHunks) continue;
    else if (line.startsWith('+')) counts.added++;
    else if (line.startsWith('-')) counts.removed++;
  }
  return { patch, counts };
}
