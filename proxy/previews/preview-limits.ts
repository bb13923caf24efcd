/** What a preview or a diff may cost before it is refused. Each is a sidecar option (see options.ts). */
export interface PreviewLimits {
  /** Largest stored file that is rendered at all. */
  maxBytes: number;
  /** Largest total of a zip's (xlsx, docx) inflated entries, declared or actual. */
  maxUnzippedBytes: number;
  maxRows: number;
  maxColumns: number;
  maxCells: number;
  /** Bytes of one preview's or diff's JSON answer, made on the worker; a larger answer is refused (413). */
  maxAnswerBytes: number;
  /** Characters of one cell (or key, header, sheet name) in an answer; longer ones are cut and marked. */
  maxCellChars: number;
  /** Bytes of rendered answers kept on disk (all chats together); the least recently used go first. */
  cacheMaxBytes: number;
  /** Wall time of one render on its worker thread; the worker is terminated after it. */
  timeoutMs: number;
  /** Renders running at once, all chats together. */
  concurrency: number;
  /** Renders one chat may run at once, so other chats always find a slot. */
  chatConcurrency: number;
  /** Renders one chat may have waiting; past it that chat gets 503 ERR_PREVIEW_BUSY. */
  chatQueue: number;
  /** How long a render that ran out of time is remembered (by content hash and kind) and answered at once, not run again. */
  timeoutMemoryMs: number;
  /** Heap (old generation) of one render worker, in MiB: a hostile file past the other limits still cannot take the sidecar's memory. */
  workerHeapMb: number;
  /** Rows a table preview shows under its header row (all are counted). */
  shownRows: number;
  /** Columns a table preview or a diff shows of each row (all are counted: `columnCount`). */
  shownColumns: number;
  /** Changed rows a diff lists per sheet (all are counted). */
  diffListedRows: number;
  /** Bytes of a text file a preview shows: a first screen, not the file. */
  textBytes: number;
  /** Text versions larger than this are not diffed: a line diff is quadratic in the worst case. */
  diffTextBytes: number;
  /** Entries one zip (xlsx, ods, docx) may list; a real workbook has tens. */
  maxZipEntries: number;
  /** Renders that ran out of time remembered at once (the least recently used are forgotten first). */
  rememberedTimeouts: number;
  /** A render worker that has not loaded in this long is given up (the machine is overloaded, not the file at fault). */
  workerStartMs: number;
}

export const DEFAULT_PREVIEW_LIMITS: PreviewLimits = {
  maxBytes: 50 * 1024 * 1024,
  maxUnzippedBytes: 200 * 1024 * 1024,
  maxRows: 1_000_000,
  maxColumns: 16_384,
  maxCells: 2_000_000,
  maxAnswerBytes: 16 * 1024 * 1024,
  maxCellChars: 1000,
  cacheMaxBytes: 512 * 1024 * 1024,
  timeoutMs: 10_000,
  concurrency: 2,
  chatConcurrency: 1,
  chatQueue: 8,
  timeoutMemoryMs: 10 * 60 * 1000,
  workerHeapMb: 512,
  shownRows: 100,
  shownColumns: 50,
  diffListedRows: 200,
  textBytes: 256 * 1024,
  diffTextBytes: 4 * 1024 * 1024,
  maxZipEntries: 10_000,
  rememberedTimeouts: 10_000,
  workerStartMs: 60_000,
};

/**
 * Characters a spreadsheet cell can hold: Excel's own limit, a fact of the formats (xlsx, xls and
 * ods written by Excel or LibreOffice never hold more), not an operator's choice. Readers stop
 * gathering a cell's text here; what a preview shows of a cell is `maxCellChars` (an option).
 */
export const MAX_CELL_CHARS = 32_767;
