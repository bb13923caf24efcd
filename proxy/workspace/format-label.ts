import { lookup } from 'mime-types';

const LABELS: Record<string, string> = {
  xlsx: 'Excel workbook',
  xlsm: 'Excel workbook',
  xls: 'Excel workbook (legacy)',
  ods: 'OpenDocument spreadsheet',
  csv: 'CSV',
  tsv: 'TSV',
  pdf: 'PDF',
  docx: 'Word document',
  doc: 'Word document (legacy)',
  pptx: 'PowerPoint presentation',
  ppt: 'PowerPoint presentation (legacy)',
  json: 'JSON',
  txt: 'Text',
  md: 'Markdown',
  html: 'HTML page',
  htm: 'HTML page',
  zip: 'ZIP archive',
  parquet: 'Parquet',
  png: 'PNG image',
  jpg: 'JPEG image',
  jpeg: 'JPEG image',
  gif: 'GIF image',
  webp: 'WebP image',
  svg: 'SVG image',
};

/** Lower-case extension without the dot; '' when the name has none (or is a dotfile). */
export function extensionOf(name: string): string {
  const base = name.slice(name.lastIndexOf('/') + 1);
  const dot = base.lastIndexOf('.');
  return dot > 0 ? base.slice(dot + 1).toLowerCase() : '';
}

/** A human label for the file's format: `Excel workbook`, `CSV`, `PDF`, or `XYZ file` when unknown. */
export function formatLabel(name: string): string {
  const ext = extensionOf(name);
  if (!ext) return 'File';
  return LABELS[ext] ?? `${ext.toUpperCase()} file`;
}

/** MIME type by extension; parquet is not in mime-db. */
export function mimeTypeOf(name: string): string {
  const ext = extensionOf(name);
  if (ext === 'parquet') return 'application/vnd.apache.parquet';
  return lookup(name) || 'application/octet-stream';
}
