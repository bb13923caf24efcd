import { lookup } from 'mime-types';
import { extensionOf } from '../../contract/previewable.ts';

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
