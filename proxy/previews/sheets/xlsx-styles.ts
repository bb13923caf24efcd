import { builtInFormat } from './number-format.ts';
import { parseXml } from './xml-stream.ts';
import type { PartText } from '../zip-guard.ts';

/** Excel's own ceiling is 64,000 cell formats; more in a file (or more codes) are read as General. */
const MAX_CELL_FORMATS = 65_536;

/**
 * The number format code of every cell format in `xl/styles.xml`, by the index a cell's `s`
 * attribute names: `cellXfs/xf@numFmtId`, resolved through `numFmts` (the workbook's own codes)
 * or the built-in table. An index with no entry is General.
 */
export function readCellFormats(styles: PartText | undefined): string[] {
  if (!styles) return [];
  const codes = new Map<number, string>();
  const formatIds: number[] = [];
  let inCellXfs = false;
  parseXml(styles, {
    open(name, attributes) {
      if (name === 'numFmt' && codes.size < MAX_CELL_FORMATS)
        codes.set(Number(attributes.numFmtId), attributes.formatCode ?? '');
      else if (name === 'cellXfs') inCellXfs = true;
      else if (name === 'xf' && inCellXfs && formatIds.length < MAX_CELL_FORMATS) {
        formatIds.push(Number(attributes.numFmtId ?? 0));
      }
    },
    close(name) {
      if (name === 'cellXfs') inCellXfs = false;
    },
  });
  return formatIds.map((id) => codes.get(id) ?? builtInFormat(id));
}
