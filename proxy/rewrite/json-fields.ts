import { SidecarError } from '../errors.ts';

/**
 * Where each top-level field of a JSON object sits in its bytes, found without parsing the
 * values: a 200 MiB `code` string is one `indexOf` walk, not a 200 MiB JavaScript string (or
 * two). Values keep their bytes, so a caller can parse just the field it needs and splice a new
 * value in. Throws on anything that is not a well-formed object at the top level.
 */
export interface FieldSpan {
  /** First byte of the value. */
  start: number;
  /** One past its last byte. */
  end: number;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;

class JsonFieldsError extends SidecarError<'ERR_JSON_FIELDS'> {
  constructor(message: string) {
    super('ERR_JSON_FIELDS', message);
  }
}

function isSpace(byte: number | undefined): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;
}

function skipSpace(buf: Buffer, i: number): number {
  while (isSpace(buf[i])) i++;
  return i;
}

/** `i` is at an opening quote: the index just past the closing one. */
function endOfString(buf: Buffer, i: number): number {
  let from = i + 1;
  for (;;) {
    const quote = buf.indexOf(QUOTE, from);
    if (quote === -1) throw new JsonFieldsError('unterminated string');
    let backslashes = 0;
    while (buf[quote - 1 - backslashes] === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return quote + 1;
    from = quote + 1;
  }
}

/** `i` is at `{` or `[`: the index just past its matching close. */
function endOfContainer(buf: Buffer, i: number): number {
  let depth = 0;
  for (let j = i; j < buf.length; j++) {
    const byte = buf[j];
    if (byte === QUOTE) j = endOfString(buf, j) - 1;
    else if (byte === 0x7b || byte === 0x5b) depth++;
    else if (byte === 0x7d || byte === 0x5d) {
      if (--depth === 0) return j + 1;
    }
  }
  throw new JsonFieldsError('unterminated object or array');
}

function endOfValue(buf: Buffer, i: number): number {
  const byte = buf[i];
  if (byte === QUOTE) return endOfString(buf, i);
  if (byte === 0x7b || byte === 0x5b) return endOfContainer(buf, i);
  let j = i;
  while (j < buf.length && buf[j] !== COMMA && buf[j] !== 0x7d && !isSpace(buf[j])) j++;
  if (j === i) throw new JsonFieldsError('missing value');
  return j;
}

export function topLevelFields(buf: Buffer): Map<string, FieldSpan> {
  const fields = new Map<string, FieldSpan>();
  let i = skipSpace(buf, 0);
  if (buf[i] !== 0x7b) throw new JsonFieldsError('not an object');
  i = skipSpace(buf, i + 1);
  if (buf[i] === 0x7d) return checkEnd(buf, i + 1, fields);
  for (;;) {
    if (buf[i] !== QUOTE) throw new JsonFieldsError('expected a key');
    const keyEnd = endOfString(buf, i);
    const key = JSON.parse(buf.toString('utf8', i, keyEnd)) as string;
    i = skipSpace(buf, keyEnd);
    if (buf[i] !== COLON) throw new JsonFieldsError('expected ":"');
    const start = skipSpace(buf, i + 1);
    const end = endOfValue(buf, start);
    fields.set(key, { start, end }); // a repeated key: the last wins, as in JSON.parse
    i = skipSpace(buf, end);
    if (buf[i] === COMMA) {
      i = skipSpace(buf, i + 1);
      continue;
    }
    if (buf[i] === 0x7d) return checkEnd(buf, i + 1, fields);
    throw new JsonFieldsError('expected "," or "}"');
  }
}

function checkEnd(buf: Buffer, i: number, fields: Map<string, FieldSpan>): Map<string, FieldSpan> {
  if (skipSpace(buf, i) !== buf.length) throw new JsonFieldsError('bytes after the object');
  return fields;
}

/**
 * The object with some fields' values replaced by new JSON bytes, everything else as it was, as
 * pieces (views of `buf` and the new values): the caller concatenates them once, where they go.
 */
export function spliceFields(buf: Buffer, replacements: ReadonlyArray<{ span: FieldSpan; json: Buffer[] }>): Buffer[] {
  const sorted = [...replacements].sort((a, b) => a.span.start - b.span.start);
  const pieces: Buffer[] = [];
  let at = 0;
  for (const { span, json } of sorted) {
    pieces.push(buf.subarray(at, span.start), ...json);
    at = span.end;
  }
  pieces.push(buf.subarray(at));
  return pieces;
}

/** Is the quote at `i` escaped (an odd run of backslashes right before it)? */
function isEscaped(buf: Buffer, i: number): boolean {
  let backslashes = 0;
  while (i - 1 - backslashes >= 0 && buf[i - 1 - backslashes] === BACKSLASH) backslashes++;
  return backslashes % 2 === 1;
}

function skipSpaceBack(buf: Buffer, i: number): number {
  while (i > 0 && isSpace(buf[i - 1])) i--;
  return i;
}

/**
 * The span of a string member's value, quotes included, when it is the object's last member:
 * found from the end of the bytes, without reading the rest. ipykernel writes stream content as
 * `{"name": ..., "text": ...}`, so the text and its end are found without a parse. Undefined
 * when the last member is another one or not a string, and for bytes that do not end like an
 * object; the caller then parses. Only sound on well-formed JSON (anything else fails to parse
 * for the caller too).
 */
export function lastMemberString(buf: Buffer, key: string): FieldSpan | undefined {
  let i = skipSpaceBack(buf, buf.length);
  if (buf[i - 1] !== 0x7d) return undefined;
  i = skipSpaceBack(buf, i - 1);
  const close = i - 1;
  if (buf[close] !== QUOTE || isEscaped(buf, close)) return undefined;
  let open = buf.lastIndexOf(QUOTE, close - 1);
  while (open > 0 && isEscaped(buf, open)) open = buf.lastIndexOf(QUOTE, open - 1);
  if (open <= 0) return undefined;
  i = skipSpaceBack(buf, open);
  if (buf[i - 1] !== COLON) return undefined;
  const keyEnd = skipSpaceBack(buf, i - 1);
  const quotedKey = quotedKeyBytes(key);
  const keyStart = keyEnd - quotedKey.length;
  if (keyStart < 1 || buf.compare(quotedKey, 0, quotedKey.length, keyStart, keyEnd) !== 0) return undefined;
  return isEscaped(buf, keyStart) ? undefined : { start: open, end: close + 1 };
}

const quotedKeys = new Map<string, Buffer>();

function quotedKeyBytes(key: string): Buffer {
  let bytes = quotedKeys.get(key);
  if (!bytes) quotedKeys.set(key, (bytes = Buffer.from(JSON.stringify(key), 'utf8')));
  return bytes;
}
