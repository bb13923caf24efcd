import { withZipParts, type ReadPart, type ZipLimits } from './zip-guard.ts';
import { PreviewError } from './preview-errors.ts';
import { sanitizePreviewHtml } from './html-sanitize.ts';

/**
 * The docx as mammoth reads it: mammoth's own input for an opened zip (`{ file }`, see
 * mammoth/lib/unzip.js; not in its typings), an object with `exists` and `read`. Parts are inflated
 * by the zip guard on demand, under its cap, and handed over as text (XML as UTF-8 or UTF-16,
 * images as base64, the two encodings mammoth asks for): nothing is re-packed, and no part is
 * held as bytes outside the worker's heap.
 */
function docxParts(read: ReadPart, names: ReadonlySet<string>) {
  return {
    exists: (name: string) => names.has(name),
    async read(name: string, encoding?: string): Promise<string> {
      if (encoding !== 'base64' && encoding !== 'utf-8' && encoding !== 'utf8') {
        throw new PreviewError('ERR_PREVIEW_UNREADABLE', 'The document asks for a part in a form not read here.');
      }
      const text = await read(name, encoding === 'base64' ? 'base64' : 'xml');
      if (!text) throw new PreviewError('ERR_PREVIEW_UNREADABLE', `The document has no part ${name}.`);
      return text.join('');
    },
  };
}

/**
 * A docx as sanitized HTML: mammoth converts (it emits semantic HTML and inlines images as data:
 * URIs), and the previews' one sanitizer (html-sanitize.ts) keeps what is safe to show.
 */
export async function renderDocument(bytes: Buffer, limits: ZipLimits): Promise<string> {
  const { default: mammoth } = await import('mammoth');
  const converted = await withZipParts(bytes, limits, async (read, names) => {
    try {
      // mammoth's typings list path, buffer and arrayBuffer inputs only; `file` is its opened-zip input.
      const input = { file: docxParts(read, names) } as unknown as { buffer: Buffer };
      return (await mammoth.convertToHtml(input)).value;
    } catch (error) {
      if (error instanceof PreviewError) throw error;
      throw new PreviewError(
        'ERR_PREVIEW_UNREADABLE',
        'The document cannot be read: it is damaged or not a docx file.',
      );
    }
  });
  return sanitizePreviewHtml(converted);
}
