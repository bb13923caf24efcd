import { randomUUID } from 'node:crypto';
import type { SkippedFile } from '../../contract/files-api.ts';
import { LruMap } from '../lru-map.ts';
import { DEFAULT_CACHED_CHATS } from '../storage/chat-data.ts';
import type { TrackingPolicy } from '../workspace/tracking-policy.ts';
import { INSTALL_EXPRESSION, pathArg } from './collector-source.ts';
import { TransportError, type KernelAnswer, type KernelCommandChannel } from './kernel-command-channel.ts';
import {
  parseListingAnswer,
  parseRead,
  parseWritten,
  type KernelEntry,
  type Listing,
  type ReadPiece,
} from './kernel-replies.ts';
import { MirrorFolder, type IncomingFile, type MirrorStat } from './mirror-folder.ts';
import { MAX_PIECES_PER_REQUEST, type TransferLimits } from './transfer-limits.ts';

/** A file as both sides last agreed on it: the kernel's state and the mirror's. */
interface Synced {
  size: number;
  mtimeNs: string;
  ino: string;
  mirror: MirrorStat;
}

/** Per chat: what was synced, which refusals the card has named already (named once), the last listing. */
interface ChatSync {
  files: Map<string, Synced>;
  named: Set<string>;
  /** The last listing the kernel sent and its digest: the kernel answers "unchanged" against it. */
  listed?: { digest: string; listing: Listing };
}

export interface KernelFileSyncOptions {
  policy: TrackingPolicy;
  limits: TransferLimits;
  /** The chat's folder as the sidecar sees it (the mirror) and as the kernel sees it. */
  mirrorFor: (chatId: string) => string;
  kernelPathFor: (chatId: string) => string;
  maxCachedChats?: number;
}

/** One transfer's clock and byte count. */
interface Budget {
  deadline: number;
  bytesLeft: number;
}

/** Files travel between a kernel's workspace and its mirror over the kernel's own channel. */
export class KernelFileSync {
  readonly #options: KernelFileSyncOptions;
  readonly #chats: LruMap<string, ChatSync>;
  /** Kernels whose working directory was set to their workspace (once per kernel process). */
  readonly #prepared = new Set<string>();
  /** The collector's install under way on a connection, shared by the requests that need it. */
  readonly #installing = new WeakMap<KernelCommandChannel, Promise<void>>();

  constructor(options: KernelFileSyncOptions) {
    this.#options = options;
    this.#chats = new LruMap(options.maxCachedChats ?? DEFAULT_CACHED_CHATS);
  }

  /** A restarted or dead kernel starts again from its own working directory. */
  forgetKernel(kernelId: string): void {
    this.#prepared.delete(kernelId);
  }

  #chat(chatId: string): ChatSync {
    let state = this.#chats.get(chatId);
    if (!state) {
      state = { files: new Map(), named: new Set() };
      this.#chats.set(chatId, state);
      this.#chats.evict(() => true);
    }
    return state;
  }

  #budget(): Budget {
    return {
      deadline: Date.now() + this.#options.limits.timeBudgetMs,
      bytesLeft: this.#options.limits.bytesPerExecution,
    };
  }

  #bounds(budget: Budget, receive: { maxBytes: number; maxBuffers: number }) {
    const left = budget.deadline - Date.now();
    if (left <= 0) throw new TransportError('ERR_TRANSPORT_TIMEOUT', 'the transfer ran out of time');
    return { timeoutMs: Math.min(left, this.#options.limits.requestTimeoutMs), ...receive };
  }

  /**
   * One request to the collector. A kernel that has no handler for it (its first transfer, a
   * restart, or its code removed it) gets the collector installed by one silent execution, and
   * the request once more; concurrent requests share that one install.
   */
  async #request(
    channel: KernelCommandChannel,
    budget: Budget,
    args: Record<string, unknown>,
    receive: { maxBytes: number; maxBuffers: number } = { maxBytes: 0, maxBuffers: 0 },
    buffers: Buffer[] = [],
  ): Promise<KernelAnswer> {
    try {
      return await channel.request(args, buffers, this.#bounds(budget, receive));
    } catch (error) {
      if (!(error instanceof TransportError) || error.code !== 'ERR_TRANSPORT_NO_HANDLER') throw error;
    }
    await this.#install(channel, budget);
    return channel.request(args, buffers, this.#bounds(budget, receive));
  }

  #install(channel: KernelCommandChannel, budget: Budget): Promise<void> {
    let installing = this.#installing.get(channel);
    if (!installing) {
      installing = channel
        .evaluate(INSTALL_EXPRESSION, this.#bounds(budget, { maxBytes: 0, maxBuffers: 0 }))
        .then((answer) => {
          if (answer.text !== "'ok'")
            throw new TransportError('ERR_TRANSPORT_PROTOCOL', 'the collector did not install');
        })
        .finally(() => this.#installing.delete(channel));
      this.#installing.set(channel, installing);
    }
    return installing;
  }

  /** One request: the kernel lists its workspace, or says it is as it was at the listing the sidecar has. */
  async #list(channel: KernelCommandChannel, chatId: string, budget: Budget, chdir: boolean): Promise<Listing> {
    const { limits, policy, kernelPathFor } = this.#options;
    const state = this.#chat(chatId);
    const answer = await this.#request(
      channel,
      budget,
      {
        op: 'list',
        root: pathArg(kernelPathFor(chatId)),
        depth: limits.maxDepth,
        max: limits.maxEntries,
        hidden: policy.options.includeHidden,
        chdir,
        since: state.listed?.digest ?? null,
      },
      { maxBytes: limits.listingBytes, maxBuffers: 1 },
    );
    const parsed = parseListingAnswer(answer, limits);
    if (parsed.unchanged) {
      if (!state.listed) throw new TransportError('ERR_TRANSPORT_PROTOCOL', 'the kernel said unchanged before listing');
      return state.listed.listing;
    }
    state.listed = { digest: parsed.digest, listing: parsed.listing };
    return parsed.listing;
  }

  /**
   * Before an execution: the kernel's first one makes its workspace and starts there, and files
   * uploaded to the mirror since the last transfer go to the kernel, so the execution sees them.
   */
  async push(chatId: string, kernelId: string, channel: KernelCommandChannel): Promise<SkippedFile[]> {
    const budget = this.#budget();
    const state = this.#chat(chatId);
    const mirror = new MirrorFolder(this.#options.mirrorFor(chatId));
    let kernelNow: Map<string, KernelEntry> | null = null;
    if (!this.#prepared.has(kernelId)) {
      const listing = await this.#list(channel, chatId, budget, true);
      this.#prepared.add(kernelId);
      kernelNow = new Map(listing.files.map((f) => [f.path, f]));
      // What this process has not seen yet (a restart, a new chat): files the same on both sides are in sync.
      for (const entry of listing.files) {
        if (state.files.has(entry.path)) continue;
        const m = await mirror.stat(entry.path);
        if (m && m.size === entry.size && Math.abs(m.mtimeMs - mtimeMsOf(entry.mtimeNs)) < 2)
          state.files.set(entry.path, { ...entry, mirror: m });
      }
    }
    const local = await mirror.list(this.#options.limits.maxEntries, this.#options.limits.maxDepth);
    const skipped: SkippedFile[] = [];
    for (const [rel, m] of local) {
      const known = state.files.get(rel);
      if (known && known.mirror.size === m.size && known.mirror.mtimeMs === m.mtimeMs) continue;
      // The kernel has its own, newer version the mirror has not seen: the kernel's wins (pulled after).
      if (!known && kernelNow?.has(rel)) continue;
      if (m.size > budget.bytesLeft) {
        skipped.push(refusal(rel, m.size, 'an upload over the per-execution transfer budget'));
        continue;
      }
      const written = await this.#send(channel, chatId, rel, m.size, mirror, budget);
      if (written) state.files.set(rel, { ...written, mirror: m });
    }
    return skipped;
  }

  async #send(
    channel: KernelCommandChannel,
    chatId: string,
    rel: string,
    size: number,
    mirror: MirrorFolder,
    budget: Budget,
  ): Promise<{ size: number; mtimeNs: string; ino: string } | null> {
    const { chunkBytes } = this.#options.limits;
    const temp = randomUUID();
    let offset = 0;
    for (;;) {
      const data = await mirror.read(rel, offset, Math.min(chunkBytes, size - offset));
      const last = offset + data.length >= size || data.length === 0;
      const answer = await this.#request(
        channel,
        budget,
        { op: 'write', root: pathArg(this.#options.kernelPathFor(chatId)), path: pathArg(rel), temp, offset, last },
        undefined,
        [data],
      );
      budget.bytesLeft -= data.length;
      offset += data.length;
      if (last) return parseWritten(answer);
    }
  }

  /**
   * After an execution: list the kernel's workspace, bring what changed into the mirror (within
   * the limits), drop what the kernel deleted. Returns what the card must name as not kept.
   */
  async pull(chatId: string, channel: KernelCommandChannel): Promise<SkippedFile[]> {
    const { policy, limits } = this.#options;
    const budget = this.#budget();
    const state = this.#chat(chatId);
    const mirror = new MirrorFolder(this.#options.mirrorFor(chatId));
    const listing = await this.#list(channel, chatId, budget, false);
    const skipped: SkippedFile[] = [];
    const nameOnce = (key: string, entry: SkippedFile) => {
      if (state.named.has(key)) return;
      if (state.named.size > limits.maxEntries) state.named.clear();
      state.named.add(key);
      skipped.push(entry);
    };
    for (const r of listing.refused)
      nameOnce(`refused\0${r.shown}\0${r.size}`, refusal(r.shown, r.size, `the kernel listed it with ${r.why}`));

    const listed = new Set<string>();
    const wanted: KernelEntry[] = [];
    for (const entry of listing.files) {
      listed.add(entry.path);
      if (!policy.tracks(entry.path) || policy.isHiddenOrPartial(entry.path)) continue;
      const known = state.files.get(entry.path);
      if (known && known.size === entry.size && known.mtimeNs === entry.mtimeNs && known.ino === entry.ino) continue;
      if (entry.size > Math.min(policy.maxFileBytes, limits.bytesPerExecution)) {
        nameOnce(`large\0${entry.path}\0${entry.mtimeNs}`, {
          path: entry.path,
          size: entry.size,
          reason: 'too-large',
          at: new Date().toISOString(),
        });
        continue;
      }
      wanted.push(entry);
    }
    // Deleted in the kernel: deleted in the mirror too (its records stay), unless it is an upload still on its way.
    if (!listing.truncated) {
      for (const [rel, known] of state.files) {
        if (listed.has(rel)) continue;
        const m = await mirror.stat(rel);
        if (m && (m.size !== known.mirror.size || m.mtimeMs !== known.mirror.mtimeMs)) continue;
        await mirror.remove(rel);
        state.files.delete(rel);
      }
    }
    skipped.push(...(await this.#fetch(channel, chatId, state, mirror, wanted, budget)));
    return skipped;
  }

  /**
   * Fetch files in pieces of at most `chunkBytes`, as many pieces per request as `bytesPerRequest`
   * allows (small files several to a request, a large one in several), with up to
   * `requestsInFlight` requests asked at once: the kernel reads the next while the sidecar writes
   * the last. What is held at once is bounded by `requestsInFlight × bytesPerRequest`.
   */
  async #fetch(
    channel: KernelCommandChannel,
    chatId: string,
    state: ChatSync,
    mirror: MirrorFolder,
    wanted: KernelEntry[],
    budget: Budget,
  ): Promise<SkippedFile[]> {
    const { requestsInFlight } = this.#options.limits;
    const { batches, left } = this.#plan(wanted, budget);
    const skipped = left.map((entry) =>
      refusal(entry.path, entry.size, 'over the per-execution transfer budget (sent with a later run)'),
    );
    const root = pathArg(this.#options.kernelPathFor(chatId));
    const ask = (batch: Piece[]) => {
      const lengths = batch.map((b) => b.length);
      const answer = this.#request(
        channel,
        budget,
        { op: 'read', root, pieces: batch.map((b) => [pathArg(b.entry.path), b.offset, b.length, b.entry.ino]) },
        { maxBytes: lengths.reduce((a, b) => a + b, 0), maxBuffers: batch.length },
      );
      // Settled here too, so an answer left behind by an earlier failure is never an unhandled rejection.
      answer.catch(() => {});
      return answer.then((a) => parseRead(a, lengths));
    };
    const open = new Map<string, IncomingFile>();
    const dropped = new Set<KernelEntry>();
    const asked: Promise<ReadPiece[]>[] = [];
    try {
      for (let i = 0; i < batches.length; i++) {
        while (asked.length < batches.length && asked.length < i + requestsInFlight)
          asked.push(ask(batches[asked.length]!));
        const replies = await asked[i]!;
        const batch = batches[i]!;
        for (let p = 0; p < batch.length; p++) {
          const { entry, offset, length } = batch[p]!;
          const piece = replies[p]!;
          if (dropped.has(entry)) continue;
          const changed =
            piece === 'gone' || piece.size !== entry.size || piece.mtimeNs !== entry.mtimeNs || piece.ino !== entry.ino;
          if (changed || piece.data.length !== length) {
            // Changed while it travelled (or the kernel lied about its size): left for the next run.
            dropped.add(entry);
            await open.get(entry.path)?.abandon();
            open.delete(entry.path);
            skipped.push(
              refusal(
                entry.path,
                entry.size,
                changed
                  ? 'it changed while it was sent, or the kernel misreported it; sent with a later run'
                  : 'a chunk of another length than its listed size',
              ),
            );
            continue;
          }
          let file = open.get(entry.path);
          if (!file) {
            file = await mirror.receive(entry.path);
            open.set(entry.path, file);
          }
          await file.append(piece.data);
          if (offset + length >= entry.size) {
            open.delete(entry.path);
            const m = await file.commit(entry.mtimeNs);
            state.files.set(entry.path, { size: entry.size, mtimeNs: entry.mtimeNs, ino: entry.ino, mirror: m });
          }
        }
      }
    } finally {
      for (const file of open.values()) await file.abandon();
    }
    return skipped;
  }

  /**
   * The read requests for `wanted`, in order, within the per-execution budget (taken from it
   * here); what does not fit is `left` for a later run. A piece is at most `chunkBytes`, a
   * request at most `bytesPerRequest`; pieces of one file go in order.
   */
  #plan(wanted: KernelEntry[], budget: Budget): { batches: Piece[][]; left: KernelEntry[] } {
    const { chunkBytes, bytesPerRequest } = this.#options.limits;
    const batches: Piece[][] = [];
    const queue = [...wanted];
    let offset = 0;
    while (queue.length > 0) {
      const batch: Piece[] = [];
      let room = Math.min(bytesPerRequest, budget.bytesLeft);
      while (queue.length > 0 && room > 0 && batch.length < MAX_PIECES_PER_REQUEST) {
        const entry = queue[0]!;
        const length = Math.min(entry.size - offset, room, chunkBytes);
        if (length <= 0 && entry.size > 0) break;
        batch.push({ entry, offset, length });
        room -= length;
        budget.bytesLeft -= length;
        offset += length;
        if (offset >= entry.size) {
          queue.shift();
          offset = 0;
        }
      }
      if (batch.length === 0) break;
      batches.push(batch);
    }
    // A file cut short by the budget is not sent at all: its pieces already planned are dropped.
    const cut = offset > 0 ? queue[0] : undefined;
    return {
      batches: cut ? batches.map((b) => b.filter((p) => p.entry !== cut)).filter((b) => b.length > 0) : batches,
      left: queue,
    };
  }
}

/** One piece of a read request: `length` bytes of `entry` from `offset`. */
interface Piece {
  entry: KernelEntry;
  offset: number;
  length: number;
}

function mtimeMsOf(mtimeNs: string): number {
  return Number(BigInt(mtimeNs) / 1_000_000n);
}

export function refusal(path: string, size: number, detail: string): SkippedFile {
  return { path, size, reason: 'transfer-refused', detail, at: new Date().toISOString() };
}
