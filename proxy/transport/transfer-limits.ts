/**
 * What a kernel may make the sidecar hold or wait for through the file transport, whatever its
 * code does. Every reply is checked against these before anything is kept. Each is a sidecar
 * option (`--transfer-*`, options.ts), defaulting to the values here.
 */
export interface TransferLimits {
  /** Raw bytes of file content in one comm message's buffer (a chunk). */
  chunkBytes: number;
  /** Raw bytes of file content asked for in one request (several chunks); held in memory until written. */
  bytesPerRequest: number;
  /** Bytes of one listing (its JSON); a larger one is refused. */
  listingBytes: number;
  /** Content bytes fetched per execution; files past it wait for the next execution. */
  bytesPerExecution: number;
  /** Entries one listing may name; a larger workspace is listed up to here. */
  maxEntries: number;
  /** How long one execution's transfer (listing, every chunk, uploads) may take in all. */
  timeBudgetMs: number;
  /** How long one request may take. */
  requestTimeoutMs: number;
  /** Folder levels a listing goes down. */
  maxDepth: number;
}

export const DEFAULT_TRANSFER_LIMITS: TransferLimits = {
  chunkBytes: 256 * 1024,
  bytesPerRequest: 32 * 1024 * 1024,
  listingBytes: 16 * 1024 * 1024,
  bytesPerExecution: 512 * 1024 * 1024,
  maxEntries: 10_000,
  timeBudgetMs: 120_000,
  requestTimeoutMs: 30_000,
  maxDepth: 64,
};

/** Bytes of one path (UTF-8) and of one segment, as Linux allows them. */
export const MAX_PATH_BYTES = 4095;
export const MAX_SEGMENT_BYTES = 255;
