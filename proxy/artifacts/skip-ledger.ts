import type { SkippedFile } from '../../contract/files-api.ts';
import type { SnapshotEntry, WorkspaceSnapshot } from '../workspace/workspace-snapshot.ts';

/** A skip stands for the file as it was: the same size and mtime. */
function sameFile(skipped: SkippedFile, entry: SnapshotEntry): boolean {
  return skipped.size === entry.size && skipped.modifiedAt === new Date(entry.mtimeMs).toISOString();
}

/**
 * A chat's skipped files (too large, over the quota, a failed copy), by path: what the files API
 * lists, kept in the store. Each scan changes it through a round of its own.
 */
export class SkipLedger {
  readonly #skipped: Map<string, SkippedFile>;

  constructor(skipped: readonly SkippedFile[]) {
    this.#skipped = new Map(skipped.map((s) => [s.path, s]));
  }

  /** The skipped paths: a scan looks at them even when untouched, so a failed copy is retried. */
  paths(): IterableIterator<string> {
    return this.#skipped.keys();
  }

  /** Starts a scan's changes; `now` dates its new skips. */
  round(now: () => Date): SkipRound {
    return new SkipRound(this.#skipped, now);
  }
}

/** One scan's changes to a chat's skipped files, and what it newly skipped. */
export class SkipRound {
  /** Newly skipped during this scan (already-reported ones are not repeated). */
  readonly newly: SkippedFile[] = [];
  #changed = false;
  readonly #skipped: Map<string, SkippedFile>;
  readonly #now: () => Date;

  constructor(skipped: Map<string, SkippedFile>, now: () => Date) {
    this.#skipped = skipped;
    this.#now = now;
  }

  /** Already reported over a limit and unchanged since: nothing to do. Failed copies are retried. */
  settled(rel: string, entry: SnapshotEntry): boolean {
    const before = this.#skipped.get(rel);
    return before !== undefined && before.reason !== 'copy-failed' && sameFile(before, entry);
  }

  /** Records a skip, unless the same one is already recorded for the file as it is. */
  skip(rel: string, entry: SnapshotEntry, reason: SkippedFile['reason']): void {
    const before = this.#skipped.get(rel);
    if (before && before.reason === reason && sameFile(before, entry)) return;
    const modifiedAt = new Date(entry.mtimeMs).toISOString();
    const skipped: SkippedFile = { path: rel, size: entry.size, reason, at: this.#now().toISOString(), modifiedAt };
    this.#skipped.set(rel, skipped);
    this.newly.push(skipped);
    this.#changed = true;
  }

  /** The file was copied: it is skipped no more. */
  clear(rel: string): void {
    if (this.#skipped.delete(rel)) this.#changed = true;
  }

  /** Forgets skipped files no longer in the workspace, among the paths looked at (`covered`; null: all). */
  forgetGone(snapshot: WorkspaceSnapshot, covered: ReadonlySet<string> | null): void {
    for (const rel of this.#skipped.keys()) {
      if (!snapshot.has(rel) && (covered === null || covered.has(rel))) {
        this.#skipped.delete(rel);
        this.#changed = true;
      }
    }
  }

  /** Whether the chat's list changed (and must be stored). */
  get changed(): boolean {
    return this.#changed;
  }

  /** The chat's whole list, to store. */
  all(): SkippedFile[] {
    return [...this.#skipped.values()];
  }
}
