import { defuseZip } from './zip-guard.ts';
import { PreviewError } from './preview-errors.ts';
import { sanitizePreviewHtml } from './html-sanitize.ts';

/**
 * A docx as sanitized HTML: mammoth converts (it emits semantic HTML and inlines images as data:
 * URIs), and the previews' one sanitizer (html-sanitize.ts) keeps what is safe to show.
 */
export async function renderDocument(bytes: Buffer, maxUnzippedBytes: number): Promise<string> {
  const safe = await defuseZip(bytes, maxUnzippedBytes);
  const { default: mammoth } = await import('mammoth');
  let converted: string;
  try {
    ({ value: converted } = await mammoth.convertToHtml({ buffer: safe }));
  } catch {
    throw new PreviewError('ERR_PREVIEW_UNREADABLE', 'The document cannot be read: it is damaged or not a docx file.');
  }
  return sanitizePreviewHtml(converted);
}
