/**
 * What a kernel may make the sidecar hold or wait for through the file transport, whatever its
 * code does. Every reply is checked against these before anything is kept. Each is a sidecar
 * option (`--transfer-*`, options.ts), defaulting to the values here.
 */
export interface TransferLimits {
  /** Raw bytes of file content in one binary buffer of a reply (a chunk), and in one upload request. */
  chunkBytes: number;
  /** Raw bytes of file content asked for in one request (several chunks): one WebSocket frame, held until written. */
  bytesPerRequest: number;
  /** Read requests asked at once; what the sidecar holds is at most this many times `bytesPerRequest`. */
  requestsInFlight: number;
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
  chunkBytes: 1024 * 1024,
  bytesPerRequest: 4 * 1024 * 1024,
  requestsInFlight: 3,
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

/** Pieces one read request asks for at most (empty files take no bytes, but each is a piece of the answer). */
export const MAX_PIECES_PER_REQUEST = 1000;

/** Room in a reply's frame for what is not file bytes (headers, the answer text): see --max-frame-mb. */
export const TRANSFER_FRAME_MARGIN = 1024 * 1024;

/** An upload chunk is one message to Jupyter Server, whose default `websocket_max_message_size` is 10 MiB. */
export const MAX_UPLOAD_CHUNK_BYTES = 8 * 1024 * 1024;
