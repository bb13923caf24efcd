import { sanitizePreviewHtml } from './html-sanitize.ts';

/**
 * Markdown as sanitized HTML: marked renders (GitHub's flavour: tables, strikethrough, task
 * lists), and the same sanitizer as a docx's keeps what is safe to show, so raw HTML written in
 * the Markdown (a script, a handler, a remote image) is dropped exactly as in a document.
 * Runs on a render worker, under its deadline, like every render that parses a file.
 */
export async function renderMarkdown(text: string): Promise<string> {
  const { marked } = await import('marked');
  return sanitizePreviewHtml(marked.parse(text, { gfm: true, async: false }));
}
