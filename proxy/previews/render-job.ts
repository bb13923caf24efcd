import { readFile } from 'node:fs/promises';
import { answerJson, tableDiffJson, tablePreviewJson } from './answer-budget.ts';
import type { PreviewLimits } from './preview-limits.ts';
import { diffKindOf, type PreviewKind } from './preview-kind.ts';
import { PreviewError } from './preview-errors.ts';
import { renderDocument } from './document-render.ts';
import { readTables } from './sheets/table-read.ts';
import { keptRows } from './sheets/table-shape.ts';
import { renderText } from './text-render.ts';
import { renderMarkdown } from './markdown-render.ts';
import { diffText, diffWorkbooks } from './version-diff.ts';

/** A blob to read on the worker: its path in the blob store and a label for diffs. */
export interface JobFile {
  path: string;
  label: string;
}

/** What the main thread asks a render worker to do. Only renders that parse files come here. */
export type RenderJob =
  | { task: 'preview'; file: JobFile; kind: PreviewKind; limits: PreviewLimits }
  | { task: 'diff'; before: JobFile; after: JobFile; kind: PreviewKind; limits: PreviewLimits };

/**
 * The answer as JSON text, made and budgeted on the worker (answer-budget.ts): what crosses to the
 * main thread is one string of at most maxAnswerBytes, never a structure to copy and serialize.
 */
export type RenderResult = { ok: true; json: string } | { ok: false; code: string; message: string };

/** What a render worker posts: `started` once it holds the job (its time limit counts from then), then its result. */
export type RenderWorkerMessage = { started: true } | RenderResult;

const decode = (bytes: Buffer) => new TextDecoder('utf-8', { fatal: false }).decode(bytes);

async function preview(job: Extract<RenderJob, { task: 'preview' }>): Promise<string> {
  const { kind, limits } = job;
  switch (kind.render) {
    case 'workbook':
    case 'delimited': {
      const tables = await readTables(await readFile(job.file.path), kind, limits, keptRows(limits.shownRows));
      return tablePreviewJson(tables, limits);
    }
    case 'document':
      return answerJson(
        { kind: 'document', html: await renderDocument(await readFile(job.file.path), limits) },
        limits,
      );
    case 'text': {
      const text = renderText(await readFile(job.file.path), kind.language, limits.textBytes);
      // Markdown cut short is shown as written: a half table or an open code block would mislead.
      const html = kind.language === 'markdown' && !text.truncated ? await renderMarkdown(text.text) : undefined;
      return answerJson({ kind: 'text', language: kind.language, ...text, html }, limits);
    }
    default:
      throw new PreviewError('ERR_PREVIEW_UNSUPPORTED', 'This format is not rendered on a worker.');
  }
}

async function diff(job: Extract<RenderJob, { task: 'diff' }>): Promise<string> {
  const { kind, limits } = job;
  switch (diffKindOf(kind)) {
    case 'table': {
      const [before, after] = await Promise.all([
        readFile(job.before.path).then((bytes) => readTables(bytes, kind, limits, Infinity)),
        readFile(job.after.path).then((bytes) => readTables(bytes, kind, limits, Infinity)),
      ]);
      return tableDiffJson(diffWorkbooks(before, after, limits.diffListedRows), limits);
    }
    case 'text': {
      const [before, after] = await Promise.all([readFile(job.before.path), readFile(job.after.path)]);
      if (before.byteLength > limits.diffTextBytes || after.byteLength > limits.diffTextBytes) {
        throw new PreviewError(
          'ERR_PREVIEW_TOO_LARGE',
          `Line diffs are limited to versions of ${limits.diffTextBytes} bytes.`,
        );
      }
      // Leave the worker's own deadline a margin, so giving up is an answer, not a kill.
      const result = await diffText(
        decode(before),
        decode(after),
        { from: job.before.label, to: job.after.label },
        Math.max(100, limits.timeoutMs * 0.8),
      );
      if (!result)
        return answerJson({ kind: 'text', patch: '', counts: { added: 0, removed: 0 }, truncated: true }, limits);
      return answerJson({ kind: 'text', ...result, truncated: false }, limits);
    }
    default:
      return answerJson({ kind: 'binary' }, limits);
  }
}

/** Runs one job; refusals come back as { code, message }, anything else as unreadable. */
export async function runRenderJob(job: RenderJob): Promise<RenderResult> {
  try {
    return { ok: true, json: job.task === 'preview' ? await preview(job) : await diff(job) };
  } catch (error) {
    if (error instanceof PreviewError) return { ok: false, code: error.code, message: error.message };
    return { ok: false, code: 'ERR_PREVIEW_UNREADABLE', message: 'The file could not be rendered: it may be damaged.' };
  }
}
