import { defuseZip } from './zip-guard.ts';
import { PreviewError } from './preview-errors.ts';

/** Only data: images of these types: a document preview never fetches anything. */
const DATA_IMAGE = /^data:image\/(png|jpeg|gif|webp);base64,[A-Za-z0-9+/=\s]*$/;

/**
 * A docx as sanitized HTML: mammoth converts (it emits semantic HTML and inlines images as data:
 * URIs), sanitize-html keeps an allow-list of tags and attributes. No script or style element, no
 * `on*` attribute, no `style` attribute, links only to http(s)/mailto (shown, opened by the user),
 * images only as data: URIs (no remote fetch, no tracking pixel).
 */
export async function renderDocument(bytes: Buffer, maxUnzippedBytes: number): Promise<string> {
  const safe = await defuseZip(bytes, maxUnzippedBytes);
  const [{ default: mammoth }, { default: sanitizeHtml }] = await Promise.all([
    import('mammoth'),
    import('sanitize-html'),
  ]);
  let converted: string;
  try {
    ({ value: converted } = await mammoth.convertToHtml({ buffer: safe }));
  } catch {
    throw new PreviewError('ERR_PREVIEW_UNREADABLE', 'The document cannot be read: it is damaged or not a docx file.');
  }
  return sanitizeHtml(converted, {
    allowedTags: [
      'h1',
      'h2',
      'h3',
      'h4',
      'h5',
      'h6',
      'p',
      'br',
      'hr',
      'strong',
      'b',
      'em',
      'i',
      'u',
      's',
      'sub',
      'sup',
      'ul',
      'ol',
      'li',
      'blockquote',
      'pre',
      'code',
      'table',
      'thead',
      'tbody',
      'tr',
      'th',
      'td',
      'a',
      'img',
    ],
    allowedAttributes: { a: ['href'], img: ['src', 'alt'], td: ['colspan', 'rowspan'], th: ['colspan', 'rowspan'] },
    allowedSchemes: ['http', 'https', 'mailto'],
    allowedSchemesByTag: { img: ['data'] },
    allowProtocolRelative: false,
    disallowedTagsMode: 'discard',
    transformTags: {
      a: (tagName, attribs) => ({
        tagName,
        attribs: { ...attribs, rel: 'noopener noreferrer nofollow', target: '_blank' },
      }),
    },
    exclusiveFilter: (frame) => frame.tag === 'img' && !DATA_IMAGE.test(frame.attribs.src ?? ''),
  });
}
