import { Parser } from 'htmlparser2';

/** What a reader hears from one XML part. Names are local names: the prefix is dropped. */
export interface XmlHandlers {
  open?(name: string, attributes: Readonly<Record<string, string>>): void;
  text?(text: string): void;
  close?(name: string): void;
}

const CHUNK_BYTES = 1024 * 1024;

const localName = (name: string) => name.slice(name.indexOf(':') + 1);

function localAttributes(attributes: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name in attributes) {
    if (name === 'xmlns' || name.startsWith('xmlns:')) continue;
    out[localName(name)] ??= attributes[name]!;
  }
  return out;
}

/** UTF-8 unless the part starts with a UTF-16 byte-order mark (XML allows both). */
function encodingOf(bytes: Buffer): 'utf-8' | 'utf-16le' | 'utf-16be' {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return 'utf-16le';
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return 'utf-16be';
  return 'utf-8';
}

/**
 * Streams one XML part through htmlparser2 in XML mode, decoded a megabyte at a time so the part
 * is never held as one string. Entities are the five of XML and numeric references: a DOCTYPE's
 * own entities are never expanded (no billion laughs), and nothing is fetched. Names are matched
 * by local name (`table:table-cell` → `table-cell`): the formats read here use fixed namespaces,
 * and writers differ only in the prefixes they pick.
 */
export function parseXml(bytes: Buffer, handlers: XmlHandlers): void {
  const parser = new Parser(
    {
      onopentag: handlers.open && ((name, attributes) => handlers.open!(localName(name), localAttributes(attributes))),
      ontext: handlers.text && ((text) => handlers.text!(text)),
      onclosetag: handlers.close && ((name) => handlers.close!(localName(name))),
    },
    { xmlMode: true, decodeEntities: true },
  );
  const decoder = new TextDecoder(encodingOf(bytes), { fatal: false });
  for (let offset = 0; offset < bytes.byteLength; offset += CHUNK_BYTES) {
    parser.write(decoder.decode(bytes.subarray(offset, offset + CHUNK_BYTES), { stream: true }));
  }
  parser.write(decoder.decode());
  parser.end();
}
