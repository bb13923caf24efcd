import { readDelimited } from './delimited-read.ts';
import { readOds } from './ods-read.ts';
import type { PreviewKind } from '../preview-kind.ts';
import { PreviewError } from '../preview-errors.ts';
import type { Table, TableLimits } from './table-shape.ts';
import { readXls } from './xls-read.ts';
import { readXlsx } from './xlsx-read.ts';

const decode = (bytes: Buffer) => new TextDecoder('utf-8', { fatal: false }).decode(bytes);

/**
 * The sheets of a table file, each with its first `keepRows` rows as display strings and its full
 * counts, by the reader for its format. Each reader checks the same limits as it goes.
 */
export async function readTables(
  bytes: Buffer,
  kind: PreviewKind,
  limits: TableLimits,
  keepRows: number,
): Promise<Table[]> {
  if (kind.render === 'delimited') return [readDelimited(decode(bytes), kind.delimiter, limits, keepRows)];
  if (kind.render !== 'workbook') throw new PreviewError('ERR_PREVIEW_UNSUPPORTED', 'Not a table.');
  switch (kind.format) {
    case 'xlsx':
      return readXlsx(bytes, limits, keepRows);
    case 'ods':
      return readOds(bytes, limits, keepRows);
    case 'xls':
      return readXls(bytes, limits, keepRows);
  }
}
