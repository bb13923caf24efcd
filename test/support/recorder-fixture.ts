import { mkdir, mkdtemp, open, rm, utimes, writeFile } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ArtifactRecorder, type ArtifactRecorderOptions } from '../../proxy/artifacts/artifact-recorder.ts';
import type { BlobFs, BlobStore } from '../../proxy/storage/blob-store.ts';
import { openStores } from '../../proxy/storage/open-stores.ts';
import { quietLogger } from '../../proxy/logger.ts';
import type { RecordStore } from '../../proxy/storage/record-store.ts';
import { createTrackingPolicy, type TrackingPolicyOptions } from '../../proxy/workspace/tracking-policy.ts';
import type { WorkspaceWalker } from '../../proxy/workspace/workspace-walker.ts';
import { Workspaces } from '../../proxy/chats/workspaces.ts';
import { defaultOf } from '../../proxy/options.ts';
import { DEFAULT_CACHED_CHATS } from '../../proxy/storage/chat-data.ts';

/** The recorder's limits as the sidecar gives them by default (`--scan-timeout-s`, the chat cache). */
export const RECORDER_DEFAULTS = {
  scanTimeoutMs: defaultOf('scanTimeoutMs'),
  maxCachedChats: DEFAULT_CACHED_CHATS,
} satisfies Partial<ArtifactRecorderOptions>;

export interface Fixture {
  base: string;
  dataDir: string;
  workspaces: Workspaces;
  store: RecordStore;
  blobs: BlobStore;
  recorder: ArtifactRecorder;
  /** Write a file into a chat workspace with a fresh, strictly increasing mtime. */
  write(chatId: string, rel: string, content: string | Buffer): Promise<string>;
  /** A new store, blob store and recorder on the same folders: what a sidecar restart sees. */
  restart(): Promise<Fixture>;
  cleanup(): Promise<void>;
}

let clock = Date.UTC(2024, 0, 1);

export async function createFixture(
  options: {
    policy?: TrackingPolicyOptions;
    blobFs?: Partial<BlobFs>;
    store?: (dataDir: string) => RecordStore;
    maxCachedChats?: number;
    /** Stands in for the walker threads (a test that acts between the walk and the copy). */
    walker?: WorkspaceWalker;
    scanTimeoutMs?: number;
    watch?: ArtifactRecorderOptions['watch'];
  } = {},
): Promise<Fixture> {
  const base = await mkdtemp(path.join(tmpdir(), 'artifacts-test-'));
  const dataDir = path.join(base, 'data');
  const workspaces = new Workspaces(path.join(base, 'workspaces'));
  const build = async (): Promise<Fixture> => {
    // The stores as the sidecar opens them (lowdb, its blob store, its event bus); a test may swap the record store.
    const stores = await openStores(
      { dataDir, databaseUrl: null, databasePoolSize: 1, blobFs: options.blobFs },
      quietLogger,
    );
    const store = options.store ? options.store(dataDir) : stores.store;
    const { blobs } = stores;
    const recorder = new ArtifactRecorder({
      store,
      blobs,
      events: stores.events,
      workspaces,
      policy: createTrackingPolicy(options.policy),
      walker: options.walker,
      ...RECORDER_DEFAULTS,
      ...(options.maxCachedChats ? { maxCachedChats: options.maxCachedChats } : {}),
      ...(options.scanTimeoutMs ? { scanTimeoutMs: options.scanTimeoutMs } : {}),
      watch: options.watch,
    });
    return {
      base,
      dataDir,
      workspaces,
      store,
      blobs,
      recorder,
      async write(chatId, rel, content) {
        const file = path.join(workspaces.pathFor(chatId), rel);
        await mkdir(path.dirname(file), { recursive: true });
        await writeFile(file, content);
        clock += 1000;
        await utimes(file, new Date(clock), new Date(clock));
        return file;
      },
      restart: build,
      async cleanup() {
        await recorder.close();
        if (store !== stores.store) await store.close();
        await stores.close();
        await rm(base, { recursive: true, force: true });
      },
    };
  };
  return build();
}

export const execution = (msgId = 'm1', owner: string | null = null) => ({ kernelId: 'k1', msgId, owner });

/** An fs seam for the blob store with a settable amount of free space: writes past it fail with ENOSPC. */
export function fakeDisk(freeBytes = Number.POSITIVE_INFINITY): { freeBytes: number; fs: Partial<BlobFs> } {
  const disk = {
    freeBytes,
    fs: {
      async open(file: string, flags: string | number, mode?: number) {
        const handle = await open(file, flags, mode);
        if (flags !== 'wx') return handle;
        return new Proxy(handle, {
          get(target, prop, receiver) {
            if (prop === 'write') {
              return async (buffer: Uint8Array, offset = 0, length = buffer.byteLength - offset) => {
                if (length > disk.freeBytes) {
                  throw Object.assign(new Error('ENOSPC: no space left on device, write'), {
                    code: 'ENOSPC',
                    errno: -28,
                  });
                }
                disk.freeBytes -= length;
                return target.write(buffer, offset, length);
              };
            }
            const value = Reflect.get(target, prop, receiver);
            return typeof value === 'function' ? value.bind(target) : value;
          },
        }) as FileHandle;
      },
    } satisfies Partial<BlobFs>,
  };
  return disk;
}
