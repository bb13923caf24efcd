import { extensionOf, previewGroupOf } from '../../contract/previewable.ts';
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

/** The sidecar's renderer for each group of contract/previewable.ts, by extension. */
export function previewKindOf(name: string): PreviewKind {
  const ext = extensionOf(name);
  switch (previewGroupOf(name)) {
    case 'delimited':
      return { render: 'delimited', delimiter: ext === 'csv' ? ',' : '\t' };
    case 'workbook':
      return { render: 'workbook', format: ext === 'ods' ? 'ods' : ext === 'xls' ? 'xls' : 'xlsx' };
    case 'document':
      return { render: 'document' };
    case 'markdown':
      return { render: 'text', language: 'markdown' };
    case 'json':
      return { render: 'text', language: 'json' };
    case 'code':
      return { render: 'text', language: 'code' };
    case 'text':
      return { render: 'text', language: 'text' };
    case 'frame':
      return { render: 'frame' };
    case 'image':
      return { render: 'image' };
    case 'pdf':
      return { render: 'pdf' };
    case null:
      return { render: 'none', reason: `No preview for ${ext ? `.${ext}` : 'this'} files: download it to open it.` };
  }
}

/** How two versions are compared: rows for tables, lines for text, size and hash for the rest. */
export function diffKindOf(kind: PreviewKind): 'table' | 'text' | 'binary' {
  if (kind.render === 'delimited' || kind.render === 'workbook') return 'table';
  if (kind.render === 'text' || kind.render === 'frame') return 'text';
  return 'binary';
}
