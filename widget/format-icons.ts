import { svg, type SVGTemplateResult } from 'lit';
import { extensionOf as nameExtension } from '../contract/previewable.ts';

/** What kind of file this is, for the icon colour and the preview. */
export type FormatKind =
  'spreadsheet' | 'csv' | 'document' | 'pdf' | 'image' | 'slides' | 'archive' | 'code' | 'data' | 'text' | 'other';

const KINDS: Record<string, FormatKind> = {
  xlsx: 'spreadsheet',
  xls: 'spreadsheet',
  ods: 'spreadsheet',
  xlsm: 'spreadsheet',
  csv: 'csv',
  tsv: 'csv',
  docx: 'document',
  doc: 'document',
  odt: 'document',
  rtf: 'document',
  pdf: 'pdf',
  png: 'image',
  jpg: 'image',
  jpeg: 'image',
  gif: 'image',
  webp: 'image',
  svg: 'image',
  bmp: 'image',
  avif: 'image',
  pptx: 'slides',
  ppt: 'slides',
  odp: 'slides',
  zip: 'archive',
  gz: 'archive',
  tar: 'archive',
  tgz: 'archive',
  '7z': 'archive',
  bz2: 'archive',
  py: 'code',
  js: 'code',
  ts: 'code',
  html: 'code',
  css: 'code',
  sql: 'code',
  r: 'code',
  ipynb: 'code',
  sh: 'code',
  json: 'data',
  parquet: 'data',
  xml: 'data',
  yaml: 'data',
  yml: 'data',
  pkl: 'data',
  npy: 'data',
  feather: 'data',
  txt: 'text',
  md: 'text',
  log: 'text',
};

/**
 * The extension that picks the icon: the name's, else the MIME subtype's (`image/png` -> `png`).
 * Never the API's `format`: that is a label for people (`Excel workbook`), not an extension.
 */
export function extensionOf(file: { name: string; mimeType?: string }): string {
  const ext = nameExtension(file.name);
  if (ext) return ext;
  const subtype = /^[\w-]+\/([\w-]+)$/.exec(file.mimeType ?? '')?.[1];
  return subtype && subtype !== 'octet-stream' ? subtype.toLowerCase() : '';
}

export function kindOf(format: string, mimeType = ''): FormatKind {
  const known = KINDS[format];
  if (known) return known;
  if (mimeType.startsWith('image/')) return 'image';
  if (mimeType === 'application/pdf') return 'pdf';
  if (mimeType === 'text/csv') return 'csv';
  if (mimeType.startsWith('text/')) return 'text';
  return 'other';
}

/**
 * One page-with-a-folded-corner outline for every kind; the kind picks the
 * colour (see styles.ts) and the label shows the format, so a dozen formats
 * cost one path instead of a dozen drawings.
 */
export function formatIcon(format: string, kind: FormatKind): SVGTemplateResult {
  const label = format.slice(0, 4).toUpperCase();
  return svg`<svg class="icon icon--${kind}" viewBox="0 0 32 32" width="32" height="32" aria-hidden="true" focusable="false">
    <path class="icon__page" d="M7 2.5h12.5L26 9v20.5H7z"/>
    <path class="icon__fold" d="M19.5 2.5V9H26"/>
    <rect class="icon__band" x="3" y="15" width="22" height="10" rx="2"/>
    <text class="icon__label" x="14" y="22.5" text-anchor="middle">${label}</text>
  </svg>`;
}
