import type { SkippedFile } from '../../contract/files-api.ts';
import type { ChatQuota, RecordDraft, RecordStore } from '../storage/record-store.ts';
import type { TrackingPolicy } from '../workspace/tracking-policy.ts';
import { ArtifactError } from './artifact-errors.ts';

/**
 * One chat's recorded bytes against its quota: the only place the count changes and the quota is
 * checked. The count is the bytes of every recorded version plus those of copies in flight
 * (reserved, so parallel copies respect the quota). The store keeps the quota once more under its
 * own lock during an append (`appendWithin`), for sidecars sharing it.
 */
export class ChatUsage {
  #used: number;
  readonly #policy: TrackingPolicy;

  constructor(usedBytes: number, policy: TrackingPolicy) {
    this.#used = usedBytes;
    this.#policy = policy;
  }

  /** Bytes counted now. */
  get bytes(): number {
    return this.#used;
  }

  /** Counts what every sidecar sharing the store has recorded, not only this one. */
  async sync(store: RecordStore, chatId: string): Promise<void> {
    this.#used = await store.usedBytes(chatId);
  }

  /** Counts what a fresh read of the chat's records holds. */
  reset(usedBytes: number): void {
    this.#used = usedBytes;
  }

  /** Would `bytes` more take the chat past its quota? */
  exceeds(bytes: number): boolean {
    return this.#used + bytes > this.#policy.quotaBytes;
  }

  /** Why a file of this size cannot be kept now ('too-large', 'quota-exceeded'), or null. */
  limitFor(size: number): SkippedFile['reason'] | null {
    return this.#policy.limitFor(size, this.#used);
  }

  /** Holds bytes being copied or waiting for their append. */
  reserve(bytes: number): void {
    this.#used += bytes;
  }

  /** Lets reserved bytes go (the copy failed, or the append did). */
  release(bytes: number): void {
    this.#used -= bytes;
  }

  /**
   * Runs a store append with the quota, which the store keeps under its lock; the count it settles
   * on (the store's, with what it appended) stands once the append resolves. Returns the append's
   * result and the drafts the quota left out.
   */
  async appendWithin<T>(
    append: (quota: ChatQuota) => Promise<T>,
  ): Promise<{ result: T; overQuota: ReadonlySet<RecordDraft> }> {
    // Filled by the store during the append (it always calls settle when given drafts).
    let settled = { overQuota: new Set<RecordDraft>(), usedBytes: this.#used };
    const result = await append({
      maxBytes: this.#policy.quotaBytes,
      settle: (overQuota, usedBytes) => (settled = { overQuota: new Set(overQuota), usedBytes }),
    });
    this.#used = settled.usedBytes;
    return { result, overQuota: settled.overQuota };
  }

  overQuotaError(chatId: string): ArtifactError {
    return new ArtifactError(
      'ERR_QUOTA_EXCEEDED',
      `Chat ${chatId} would exceed its quota of ${this.#policy.quotaBytes} bytes.`,
    );
  }
}
