import type { FileDiff, FilePreview, RowChange, SheetDiff } from '../../contract/files-api.ts';
import type { PreviewLimits } from './preview-limits.ts';
import { PreviewError } from './preview-errors.ts';
import { toPreviewSheet, type Table } from './sheets/table-shape.ts';

export type AnswerLimits = Pick<PreviewLimits, 'maxAnswerBytes' | 'maxCellChars' | 'shownRows' | 'shownColumns'>;

/** Marks a cell that was cut (one character, so the cut cell stays within maxCellChars + 1). */
export const CUT_MARK = '…';

/**
 * What a render may send back, counted in the worker before anything leaves it: a few kilobytes
 * of workbook can reference one 32,767-character string from every cell, and a listing of them
 * copied out of the worker and serialized on the main thread took the sidecar down. Here every
 * cell is cut to `maxCellChars`, rows to the columns shown, and the answer is written as JSON piece
 * by piece, each piece counted against `maxAnswerBytes` as it is made: past it the render is
 * refused (413 ERR_PREVIEW_ANSWER_TOO_LARGE) before the whole answer was ever held.
 */
export class AnswerBudget {
  readonly #limits: AnswerLimits;
  readonly #parts: string[] = [];
  #bytes = 0;

  constructor(limits: AnswerLimits) {
    this.#limits = limits;
  }

  /** A cell's text, cut (not inside a surrogate pair) when longer than maxCellChars. */
  cell(text: string): string {
    const max = this.#limits.maxCellChars;
    if (text.length <= max) return text;
    const end = /[\uD800-\uDBFF]/.test(text[max - 1]!) ? max - 1 : max;
    return text.slice(0, end) + CUT_MARK;
  }

  /** The columns shown of a row, each cell cut. */
  row(cells: readonly string[]): string[] {
    const columns = this.#limits.shownColumns;
    const shown = cells.length > columns ? cells.slice(0, columns) : cells;
    return shown.map((c) => this.cell(c ?? ''));
  }

  /** Appends JSON text, refusing the answer once it is over maxAnswerBytes. */
  write(json: string): void {
    this.#bytes += Buffer.byteLength(json);
    if (this.#bytes > this.#limits.maxAnswerBytes) {
      throw new PreviewError(
        'ERR_PREVIEW_ANSWER_TOO_LARGE',
        `The answer would be larger than ${this.#limits.maxAnswerBytes} bytes: not shown. Download the file instead.`,
      );
    }
    this.#parts.push(json);
  }

  /** `JSON.stringify(value)`, counted. */
  value(value: unknown): void {
    this.write(JSON.stringify(value));
  }

  /** Writes `[a,b,…]`, each item by `each`. */
  list<T>(items: readonly T[], each: (item: T) => void): void {
    this.write('[');
    items.forEach((item, i) => {
      if (i > 0) this.write(',');
      each(item);
    });
    this.write(']');
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** The answer as one JSON text (at most maxAnswerBytes). */
  text(): string {
    return this.#parts.join('');
  }
}

/** A table preview as budgeted JSON: the first rows and columns, long cells cut. */
export function tablePreviewJson(tables: readonly Table[], limits: AnswerLimits): string {
  const budget = new AnswerBudget(limits);
  budget.write('{"kind":"table","sheets":');
  budget.list(tables, (table) => {
    const sheet = toPreviewSheet(table, limits);
    budget.write(`{"name":${JSON.stringify(budget.cell(sheet.name))},"rows":`);
    budget.list(sheet.rows, (row) => budget.value(budget.row(row)));
    budget.write(
      `,"rowCount":${sheet.rowCount},"columnCount":${sheet.columnCount},"truncated":${sheet.truncated || cutAny(sheet.rows, limits)}}`,
    );
  });
  budget.write('}');
  return budget.text();
}

const cutAny = (rows: readonly string[][], limits: AnswerLimits) =>
  rows.some((row) => row.some((c) => (c?.length ?? 0) > limits.maxCellChars));

/** A table diff as budgeted JSON: every listed row cut to the columns shown, long cells cut. */
export function tableDiffJson(sheets: readonly SheetDiff[], limits: AnswerLimits): string {
  const budget = new AnswerBudget(limits);
  budget.write('{"kind":"table","sheets":');
  budget.list(sheets, (sheet) => {
    const { rows, header, name, keyColumn, ...rest } = sheet;
    budget.write(
      `{"name":${JSON.stringify(budget.cell(name))},"keyColumn":${JSON.stringify(keyColumn === null ? null : budget.cell(keyColumn))},"header":`,
    );
    budget.value(budget.row(header));
    budget.write(',"rows":');
    budget.list(rows, (change) => {
      const shown: RowChange = { change: change.change, key: budget.cell(change.key) };
      if (change.before) shown.before = budget.row(change.before);
      if (change.after) shown.after = budget.row(change.after);
      budget.value(shown);
    });
    budget.write(`,"status":${JSON.stringify(rest.status)},"counts":${JSON.stringify(rest.counts)}`);
    budget.write(`,"truncated":${rest.truncated},"columnCount":${Math.max(0, ...rows.map(widthOf), header.length)}}`);
  });
  budget.write('}');
  return budget.text();
}

const widthOf = (change: RowChange) => Math.max(change.before?.length ?? 0, change.after?.length ?? 0);

/** Any other answer (a document's HTML, a text or its diff) as JSON, counted as a whole. */
export function answerJson(value: FilePreview | FileDiff, limits: AnswerLimits): string {
  const budget = new AnswerBudget(limits);
  budget.value(value);
  return budget.text();
}
