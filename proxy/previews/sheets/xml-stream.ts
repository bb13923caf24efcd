import { Parser } from 'htmlparser2';
import { PreviewError } from '../preview-errors.ts';
import type { PartText } from '../zip-guard.ts';

/**
 * Deeper nesting is refused. The formats read here nest a dozen levels at most, and htmlparser2
 * keeps its open elements in an array it `unshift`s on every open tag, so each open costs the
 * depth: 100,000 nested elements (a 1 MB part) took 17 s of CPU before this limit.
 */
export const MAX_XML_DEPTH = 256;

/** What a reader hears from one XML part. Names are local names: the prefix is dropped. */
export interface XmlHandlers {
  open?(name: string, attributes: Readonly<Record<string, string>>): void;
  text?(text: string): void;
  close?(name: string): void;
}

const localName = (name: string) => name.slice(name.indexOf(':') + 1);

function localAttributes(attributes: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name in attributes) {
    if (name === 'xmlns' || name.startsWith('xmlns:')) continue;
    out[localName(name)] ??= attributes[name]!;
  }
  return out;
}

/**
 * Streams one XML part through htmlparser2 in XML mode, piece by piece as the zip guard decoded it
 * (text on the worker's heap, never one long string). Entities are the five of XML and numeric
 * references: a DOCTYPE's own entities are never expanded (no billion laughs), and nothing is fetched. Names are matched
 * by local name (`table:table-cell` → `table-cell`): the formats read here use fixed namespaces,
 * and writers differ only in the prefixes they pick.
 */
export function parseXml(part: PartText, handlers: XmlHandlers): void {
  let depth = 0;
  const parser = new Parser(
    {
      onopentag: (name, attributes) => {
        if (++depth > MAX_XML_DEPTH)
          throw new PreviewError(
            'ERR_PREVIEW_UNREADABLE',
            `The file cannot be read: its XML nests more than ${MAX_XML_DEPTH} elements deep.`,
          );
        handlers.open?.(localName(name), localAttributes(attributes));
      },
      ontext: handlers.text && ((text) => handlers.text!(text)),
      onclosetag: (name) => {
        depth--;
        handlers.close?.(localName(name));
      },
    },
    { xmlMode: true, decodeEntities: true },
  );
  for (const piece of part) parser.write(piece);
  parser.end();
}
