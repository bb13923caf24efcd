import { MAX_CELL_CHARS } from '../preview-limits.ts';
import { checkShape, type Table, type TableLimits } from './table-shape.ts';

/** Cells counted across every sheet of one workbook: the cell limit is for the whole file. */
export interface CellBudget {
  cells: number;
}

/** Text gathered for one cell, cut at the cell limit while it is gathered. */
export function appendCapped(gathered: string, text: string): string {
  return gathered.length >= MAX_CELL_CHARS ? gathered : (gathered + text).slice(0, MAX_CELL_CHARS);
}

/** Shared by every empty row that is kept: a gap of empty rows costs one pointer per row. */
const EMPTY_ROW: string[] = [];

/**
 * One sheet as a workbook reader finds it, cell by cell or as repeated rows, counted as it grows:
 * a row's width is its last cell holding a value, the sheet's cells are the sum of its rows'
 * widths (as for CSV, where every field counts), and each count is checked against the limits
 * before anything is stored, so a hostile position or repeat count is refused without allocating.
 * Only the first `keepRows` rows keep their display strings; the reader asks `keeps(row)` before
 * it formats a cell.
 */
export class SheetBuilder {
  readonly name: string;
  readonly #limits: TableLimits;
  readonly #keepRows: number;
  readonly #budget: CellBudget;
  /** Width of every row seen so far, by index (at most maxRows entries: 4 MB at the default). */
  #widths = new Int32Array(64);
  readonly #kept: string[][] = [];
  #rowCount = 0;
  #columnCount = 0;

  constructor(name: string, limits: TableLimits, keepRows: number, budget: CellBudget) {
    this.name = name;
    this.#limits = limits;
    this.#keepRows = keepRows;
    this.#budget = budget;
  }

  /** Whether this row's display strings are kept (otherwise only its width counts). */
  keeps(row: number): boolean {
    return row < this.#keepRows;
  }

  /** A cell holding a value at (row, col), zero-based; `text` is called only when the row is kept. */
  cell(row: number, col: number, text: string | (() => string)): void {
    checkShape(
      Math.max(this.#rowCount, row + 1),
      Math.max(this.#columnCount, col + 1),
      this.#budget.cells,
      this.#limits,
    );
    this.#grow(row + 1);
    const width = this.#widths[row]!;
    if (col + 1 > width) {
      this.#budget.cells += col + 1 - width;
      this.#widths[row] = col + 1;
    }
    this.#rowCount = Math.max(this.#rowCount, row + 1);
    this.#columnCount = Math.max(this.#columnCount, col + 1);
    checkShape(this.#rowCount, this.#columnCount, this.#budget.cells, this.#limits);
    if (this.keeps(row)) {
      const value = typeof text === 'string' ? text : text();
      (this.#kept[row] ??= [])[col] = value.length > MAX_CELL_CHARS ? value.slice(0, MAX_CELL_CHARS) : value;
    }
  }

  /**
   * `count` fresh rows from `first`, each holding the same cells: `texts` (null when none of them
   * is kept), `width` long. A repeated row is counted, never copied; an empty one costs nothing.
   */
  rows(first: number, count: number, width: number, texts: string[] | null): void {
    if (width === 0 || count === 0) return;
    checkShape(
      Math.max(this.#rowCount, first + count),
      Math.max(this.#columnCount, width),
      this.#budget.cells + width * count,
      this.#limits,
    );
    this.#grow(first + count);
    this.#widths.fill(width, first, first + count);
    this.#budget.cells += width * count;
    this.#rowCount = Math.max(this.#rowCount, first + count);
    this.#columnCount = Math.max(this.#columnCount, width);
    if (texts) for (let r = first; r < Math.min(first + count, this.#keepRows); r++) this.#kept[r] = texts;
  }

  /** The sheet: kept rows padded to their width, gaps as empty rows. */
  finish(): Table {
    const rows: string[][] = [];
    const kept = Math.min(this.#rowCount, this.#keepRows);
    for (let r = 0; r < kept; r++) {
      const row = this.#kept[r];
      if (!row) {
        rows.push(EMPTY_ROW);
        continue;
      }
      const width = this.#widths[r]!;
      // A cell set by position can leave holes: JSON would write them as null.
      for (let c = 0; c < width; c++) row[c] ??= '';
      rows.push(row);
    }
    return { name: this.name, rows, rowCount: this.#rowCount, columnCount: this.#columnCount };
  }

  /** Room for `rows` widths; callers have checked `rows` against maxRows. */
  #grow(rows: number): void {
    if (rows <= this.#widths.length) return;
    const next = new Int32Array(Math.min(Math.max(rows, this.#widths.length * 2), this.#limits.maxRows + 1));
    next.set(this.#widths);
    this.#widths = next;
  }
}
