import type { SkippedFile } from '../../contract/files-api.ts';
import type { FileRecord } from '../storage/file-record.ts';
import { formatBytes as formatSize } from '../../contract/format-bytes.ts';
import { escapeCardText } from './card-text.ts';

/** What the file card carries: `off` none, `text` text/plain only, `rich` text, Markdown and HTML. */
export type AnnounceMode = 'off' | 'text' | 'rich';
export const ANNOUNCE_MODES: readonly AnnounceMode[] = ['off', 'text', 'rich'];

export interface CardFile {
  record: FileRecord;
  url: string;
}

const MOUNT = '/mnt/data';

const SKIP_REASONS: Record<SkippedFile['reason'], string> = {
  'too-large': 'not kept: over the size limit',
  'quota-exceeded': "not kept: over the chat's storage quota",
  'copy-failed': 'not kept: it could not be copied',
  'transfer-refused': 'not kept: the kernel file transfer refused it',
};

/** The reason in words, with its detail when it has one. */
const skipText = (s: SkippedFile) => (s.detail ? `${SKIP_REASONS[s.reason]} (${s.detail})` : SKIP_REASONS[s.reason]);

/** Sizes as the element shows them (one function for both), with an English decimal mark. */
export const formatBytes = (bytes: number): string => formatSize(bytes, 'en');

/** Every text from kernel code (names, paths, labels) goes through escapeCardText in every format. */
const mountPath = (rel: string) => `${MOUNT}/${escapeCardText(rel)}`;
const shown = escapeCardText;

/**
 * What a card may cost a model's context: at most `maxFiles` files named one by one; the rest are
 * counted, with one link to the chat's zip (`archiveUrl`) instead of a link each.
 */
export interface CardBudget {
  maxFiles: number;
  archiveUrl?: string;
}

interface CardParts {
  files: readonly CardFile[];
  skipped: readonly SkippedFile[];
  /** Files past the budget: count and bytes, and where they all are. */
  more: { count: number; bytes: number; archiveUrl?: string } | null;
  moreSkipped: number;
}

function withinBudget(files: readonly CardFile[], skipped: readonly SkippedFile[], budget?: CardBudget): CardParts {
  const max = budget?.maxFiles ?? Infinity;
  const rest = files.slice(max);
  return {
    files: files.slice(0, max),
    skipped: skipped.slice(0, max),
    more: rest.length
      ? { count: rest.length, bytes: rest.reduce((n, f) => n + f.record.size, 0), archiveUrl: budget?.archiveUrl }
      : null,
    moreSkipped: Math.max(0, skipped.length - max),
  };
}

const moreText = (more: NonNullable<CardParts['more']>) =>
  `${more.count} more file${more.count === 1 ? '' : 's'} (${formatBytes(more.bytes)})`;

function plainText({ files, skipped, more, moreSkipped }: CardParts): string {
  const lines: string[] = [];
  if (files.length > 0) {
    lines.push(
      files.length === 1 && !more
        ? 'File saved (give the user this link):'
        : 'Files saved (give the user these links):',
    );
    for (const { record, url } of files) {
      lines.push(
        `- ${mountPath(record.path)} (${formatBytes(record.size)}, ${shown(record.format)}, version ${record.version}): ${shown(url)}`,
      );
    }
  }
  if (more)
    lines.push(
      `- and ${moreText(more)}${more.archiveUrl ? `: all of the chat's files as one zip: ${more.archiveUrl}` : ''}`,
    );
  for (const s of skipped) lines.push(`- ${mountPath(s.path)} (${formatBytes(s.size)}): ${skipText(s)}`);
  if (moreSkipped) lines.push(`- and ${moreSkipped} more not kept`);
  return lines.join('\n');
}

/** Escapes Markdown's inline syntax (and HTML, which Markdown renderers pass through). */
function escapeMarkdown(text: string): string {
  return text.replace(/[\\`*_{}[\]()#+\-.!|<>&~]/g, (c) =>
    c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '&' ? '&amp;' : `\\${c}`,
  );
}

function markdown({ files, skipped, more, moreSkipped }: CardParts): string {
  const lines: string[] = [];
  if (files.length > 0) lines.push(files.length === 1 ? '**File saved**' : '**Files saved**', '');
  for (const { record, url } of files) {
    // An autolink-safe target: <...> keeps parentheses in the URL from ending the link.
    lines.push(
      `- [${escapeMarkdown(shown(record.name))}](<${shown(url).replace(/[<>\s]/g, encodeURIComponent)}>) — ${escapeMarkdown(mountPath(record.path))}, ${formatBytes(record.size)}, ${escapeMarkdown(shown(record.format))}, version ${record.version}`,
    );
  }
  if (more) {
    const zip = more.archiveUrl
      ? `: [all of the chat's files as one zip](<${more.archiveUrl.replace(/[<>\s]/g, encodeURIComponent)}>)`
      : '';
    lines.push(`- and ${escapeMarkdown(moreText(more))}${zip}`);
  }
  for (const s of skipped)
    lines.push(`- ${escapeMarkdown(mountPath(s.path))} (${formatBytes(s.size)}): ${skipText(s)}`);
  if (moreSkipped) lines.push(`- and ${moreSkipped} more not kept`);
  return lines.join('\n');
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

function html({ files, skipped, more, moreSkipped }: CardParts): string {
  const items = files.map(
    ({ record, url }) =>
      `<li><a href="${escapeHtml(shown(url))}" download="${escapeHtml(shown(record.name))}" target="_blank" rel="noopener noreferrer">${escapeHtml(shown(record.name))}</a>` +
      ` <small>${escapeHtml(mountPath(record.path))} · ${escapeHtml(formatBytes(record.size))} · ${escapeHtml(shown(record.format))} · version ${record.version}</small></li>`,
  );
  for (const s of skipped)
    items.push(
      `<li>${escapeHtml(mountPath(s.path))} <small>${escapeHtml(formatBytes(s.size))} · ${escapeHtml(skipText(s))}</small></li>`,
    );
  if (more) {
    const zip = more.archiveUrl
      ? `: <a href="${escapeHtml(more.archiveUrl)}" target="_blank" rel="noopener noreferrer">all of the chat's files as one zip</a>`
      : '';
    items.push(`<li>and ${escapeHtml(moreText(more))}${zip}</li>`);
  }
  if (moreSkipped) items.push(`<li>and ${moreSkipped} more not kept</li>`);
  const title =
    files.length === 0 ? '' : `<strong>${files.length === 1 && !more ? 'File saved' : 'Files saved'}</strong>`;
  return `<div class="generated-files-card">${title}<ul>${items.join('')}</ul></div>`;
}

const DEFERRED_TITLE = 'Files not recorded yet';
// Said whether or not the run wrote files: with the store away the sidecar cannot tell.
const DEFERRED_TEXT =
  'the file store is unavailable right now. If this run wrote files, they will be recorded by the first run in this chat after it is back.';

/** The card of a run whose files could not be recorded (the store away): no links to give yet. */
function deferredCard(mode: Exclude<AnnounceMode, 'off'>): Record<string, string> {
  const data: Record<string, string> = { 'text/plain': `${DEFERRED_TITLE}: ${DEFERRED_TEXT}` };
  if (mode === 'rich') {
    data['text/markdown'] = `**${DEFERRED_TITLE}**: ${escapeMarkdown(DEFERRED_TEXT)}`;
    data['text/html'] =
      `<div class="generated-files-card"><strong>${DEFERRED_TITLE}</strong>: ${escapeHtml(DEFERRED_TEXT)}</div>`;
  }
  return data;
}

/**
 * The card's MIME bundle, or undefined when there is nothing to say. text/plain is what a chat
 * app such as Open WebUI gives the model (and shows the user): one line per file with its link.
 * `deferred`: the run's files could not be recorded now, and the card says so instead.
 */
export function fileCardData(
  files: readonly CardFile[],
  skipped: readonly SkippedFile[],
  mode: AnnounceMode,
  deferred = false,
  budget?: CardBudget,
): Record<string, string> | undefined {
  if (mode === 'off') return undefined;
  if (deferred) return deferredCard(mode);
  if (files.length === 0 && skipped.length === 0) return undefined;
  const parts = withinBudget(files, skipped, budget);
  const data: Record<string, string> = { 'text/plain': plainText(parts) };
  if (mode === 'rich') {
    data['text/markdown'] = markdown(parts);
    data['text/html'] = html(parts);
  }
  return data;
}
