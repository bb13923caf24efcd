import { Parser } from 'htmlparser2';
import type { PartText } from '../zip-guard.ts';

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
  const parser = new Parser(
    {
      onopentag: handlers.open && ((name, attributes) => handlers.open!(localName(name), localAttributes(attributes))),
      ontext: handlers.text && ((text) => handlers.text!(text)),
      onclosetag: handlers.close && ((name) => handlers.close!(localName(name))),
    },
    { xmlMode: true, decodeEntities: true },
  );
  for (const piece of part) parser.write(piece);
  parser.end();
}
