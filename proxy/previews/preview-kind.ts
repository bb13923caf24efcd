import { extensionOf } from '../workspace/format-label.ts';
import type { TextLanguage } from './text-render.ts';

/** The spreadsheet formats with a reader of their own. */
export type WorkbookFormat = 'xlsx' | 'ods' | 'xls';

/** How a file is previewed, by its extension: what a renderer on the worker does with it. */
export type PreviewKind =
  | { render: 'delimited'; delimiter: string }
  | { render: 'workbook'; format: WorkbookFormat }
  | { render: 'document' }
  | { render: 'text'; language: TextLanguage }
  | { render: 'frame' } // HTML: a sandboxed iframe, never on the sidecar's origin with script
  | { render: 'image' } // raster images and SVG (as an image, its script never runs)
  | { render: 'pdf' }
  | { render: 'none'; reason: string };

const CODE = new Set([
  'py',
  'js',
  'mjs',
  'ts',
  'css',
  'sql',
  'r',
  'sh',
  'yaml',
  'yml',
  'xml',
  'toml',
  'ini',
  'java',
  'c',
  'h',
  'cpp',
  'go',
  'rs',
  'rb',
  'ipynb',
]);
const TEXT = new Set(['txt', 'log', 'text']);
const IMAGES = new Set(['png', 'jpg', 'jpeg', 'gif', 'webp', 'avif', 'bmp', 'svg']);

export function previewKindOf(name: string): PreviewKind {
  const ext = extensionOf(name);
  if (ext === 'csv') return { render: 'delimited', delimiter: ',' };
  if (ext === 'tsv' || ext === 'tab') return { render: 'delimited', delimiter: '\t' };
  if (ext === 'xlsx' || ext === 'xlsm') return { render: 'workbook', format: 'xlsx' };
  if (ext === 'ods') return { render: 'workbook', format: 'ods' };
  if (ext === 'xls') return { render: 'workbook', format: 'xls' };
  if (ext === 'docx') return { render: 'document' };
  if (ext === 'md' || ext === 'markdown') return { render: 'text', language: 'markdown' };
  if (ext === 'json' || ext === 'geojson' || ext === 'jsonl') return { render: 'text', language: 'json' };
  if (CODE.has(ext)) return { render: 'text', language: 'code' };
  if (TEXT.has(ext)) return { render: 'text', language: 'text' };
  if (ext === 'html' || ext === 'htm') return { render: 'frame' };
  if (IMAGES.has(ext)) return { render: 'image' };
  if (ext === 'pdf') return { render: 'pdf' };
  return { render: 'none', reason: `No preview for ${ext ? `.${ext}` : 'this'} files: download it to open it.` };
}

/** How two versions are compared: rows for tables, lines for text, size and hash for the rest. */
export function diffKindOf(kind: PreviewKind): 'table' | 'text' | 'binary' {
  if (kind.render === 'delimited' || kind.render === 'workbook') return 'table';
  if (kind.render === 'text' || kind.render === 'frame') return 'text';
  return 'binary';
}
