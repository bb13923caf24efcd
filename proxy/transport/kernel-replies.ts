import { createHash } from 'node:crypto';
import { TransportError, type KernelAnswer } from './kernel-command-channel.ts';
import { MAX_PATH_BYTES, MAX_SEGMENT_BYTES, type TransferLimits } from './transfer-limits.ts';

/**
 * Reading what a kernel answered the transport. Everything here is hostile input: a kernel's
 * code can replace the collector, so every answer is checked for shape, size and sense before
 * any of it is used, and a path is used only once it is a plain relative path.
 */

/** One regular file in the kernel's workspace, as listed. */
export interface KernelEntry {
  /** Relative POSIX path, checked (see pathRefusal). */
  path: string;
  size: number;
  /** Decimal strings: compared, never computed with. */
  mtimeNs: string;
  ino: string;
}

/** A listed name the sidecar will not use, with why (for the file card). */
export interface RefusedName {
  shown: string;
  size: number;
  why: string;
}

export interface Listing {
  files: KernelEntry[];
  refused: RefusedName[];
  truncated: boolean;
}

/** One piece of a read: the file's state when it was read and the bytes, or gone/changed. */
export type ReadPiece = { size: number; mtimeNs: string; ino: string; data: Buffer } | 'gone';

const protocol = (message: string) => new TransportError('ERR_TRANSPORT_PROTOCOL', message);

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const DECIMAL = /^\d{1,24}$/;
// Bidirectional overrides and isolates, and the marks that reorder text on screen.
const BIDI = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;
// eslint-disable-next-line no-control-regex -- control characters are what this refuses
const CONTROL = /[\u0000-\u001f\u007f]/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A reply's text, in the collector's alphabet only (anything else was not written by the collector). */
export function answerText(text: string): string {
  if (!/^[A-Za-z0-9+/=:,-]*$/.test(text)) throw protocol('the kernel answered something that is not the collector’s');
  return text;
}

/** Strict base64: Node's decoder skips what it does not understand, so the shape is checked first. */
export function strictBase64(text: string): Buffer {
  if (text.length % 4 !== 0 || !BASE64.test(text)) throw protocol('the kernel sent invalid base64');
  return Buffer.from(text, 'base64');
}

/** Why a listed path cannot be used as a workspace path; null when it can. */
export function pathRefusal(path: string): string | null {
  if (path === '') return 'an empty name';
  if (path.includes('\0')) return 'a NUL in its name';
  if (CONTROL.test(path)) return 'a control character in its name';
  if (BIDI.test(path)) return 'a bidirectional control character in its name';
  if (path.startsWith('/')) return 'an absolute path';
  if (Buffer.byteLength(path) > MAX_PATH_BYTES) return 'a name that is too long';
  const segments = path.split('/');
  if (segments.includes('..')) return 'a path that leaves the workspace';
  if (segments.some((s) => s === '' || s === '.')) return 'a malformed path';
  if (segments.some((s) => Buffer.byteLength(s) > MAX_SEGMENT_BYTES)) return 'a name that is too long';
  return null;
}

/** A refused name as the card may show it: control and bidi characters spelled out, cut short. */
export function shownName(path: string): string {
  const escaped = path.replace(
    // eslint-disable-next-line no-control-regex -- control characters are what this spells out
    /[\u0000-\u001f\u007f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
  return escaped.length > 120 ? `${escaped.slice(0, 60)}…${escaped.slice(-40)}` : escaped;
}

function isSize(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** A listing's answer: unchanged since the listing whose digest was given, or a new listing and its digest. */
export type ListingAnswer = { unchanged: true } | { unchanged: false; digest: string; listing: Listing };

export function parseListingAnswer(answer: KernelAnswer, limits: TransferLimits): ListingAnswer {
  const inner = answerText(answer.text);
  if (inner === '=') {
    if (answer.buffers.length !== 0) throw protocol('the kernel sent a listing it said was unchanged');
    return { unchanged: true };
  }
  const match = /^L([0-9a-f]{64})$/.exec(inner);
  if (!match || answer.buffers.length !== 1) throw protocol('the kernel’s listing has the wrong shape');
  const bytes = answer.buffers[0]!;
  // The digest is the sidecar's own: what the kernel claims is only compared, never trusted.
  const digest = createHash('sha256').update(bytes).digest('hex');
  if (digest !== match[1]) throw protocol('the kernel’s listing does not match its digest');
  return { unchanged: false, digest, listing: parseListing(bytes, limits) };
}

export function parseListing(json: Buffer, limits: TransferLimits): Listing {
  let parsed: unknown;
  try {
    parsed = JSON.parse(utf8.decode(json));
  } catch {
    throw protocol('the kernel’s listing is not JSON');
  }
  const body = parsed as { files?: unknown; truncated?: unknown };
  if (!body || typeof body !== 'object' || !Array.isArray(body.files) || typeof body.truncated !== 'boolean')
    throw protocol('the kernel’s listing has the wrong shape');
  if (body.files.length > limits.maxEntries) throw protocol('the kernel listed more entries than it was asked for');
  const files: KernelEntry[] = [];
  const refused: RefusedName[] = [];
  const seen = new Set<string>();
  for (const item of body.files as unknown[]) {
    if (!Array.isArray(item) || item.length !== 4) throw protocol('a listing entry has the wrong shape');
    const [name, size, mtimeNs, ino] = item as unknown[];
    if (typeof name !== 'string' || !isSize(size) || typeof mtimeNs !== 'string' || typeof ino !== 'string')
      throw protocol('a listing entry has the wrong types');
    if (!DECIMAL.test(mtimeNs) || !DECIMAL.test(ino)) throw protocol('a listing entry has a malformed time or inode');
    const bytes = strictBase64(name);
    let path: string;
    try {
      path = utf8.decode(bytes);
    } catch {
      refused.push({
        shown: `(a name that is not UTF-8: ${name.slice(0, 40)})`,
        size,
        why: 'a name that is not UTF-8',
      });
      continue;
    }
    const why = pathRefusal(path);
    if (why) {
      refused.push({ shown: shownName(path), size, why });
      continue;
    }
    if (seen.has(path)) throw protocol('the kernel listed one path twice');
    seen.add(path);
    files.push({ path, size, mtimeNs, ino });
  }
  return { files, refused, truncated: body.truncated };
}

/**
 * The pieces of a read, one per piece asked for: the text says each piece's file state and
 * length, and each piece that is not gone has one buffer of exactly that length, no longer than asked.
 */
export function parseRead(answer: KernelAnswer, asked: readonly number[]): ReadPiece[] {
  const parts = answerText(answer.text).split(',');
  if (parts.length !== asked.length) throw protocol('the kernel answered a different number of pieces');
  let next = 0;
  const pieces = parts.map((part, i): ReadPiece => {
    if (part === '-') return 'gone';
    const match = /^(\d{1,16}):(\d{1,24}):(\d{1,24}):(\d{1,16})$/.exec(part);
    if (!match) throw protocol('a piece has the wrong shape');
    const size = Number(match[1]);
    const length = Number(match[4]);
    if (!isSize(size) || !isSize(length)) throw protocol('a piece has an impossible size');
    if (length > asked[i]!) throw protocol('a piece is longer than asked for');
    const data = answer.buffers[next++];
    if (!data) throw protocol('a piece the kernel announced did not come');
    if (data.length !== length) throw protocol('a piece is not as long as the kernel said');
    return { size, mtimeNs: match[2]!, ino: match[3]!, data };
  });
  if (next !== answer.buffers.length) throw protocol('the kernel sent pieces it was not asked for');
  return pieces;
}

/** The state of a file the kernel wrote (an upload's last chunk). */
export function parseWritten({ text }: KernelAnswer): { size: number; mtimeNs: string; ino: string } | null {
  const inner = answerText(text);
  if (inner === '') return null;
  const match = /^(\d{1,16}):(\d{1,24}):(\d{1,24})$/.exec(inner);
  if (!match || !isSize(Number(match[1]))) throw protocol('the kernel’s answer to a write has the wrong shape');
  return { size: Number(match[1]), mtimeNs: match[2]!, ino: match[3]! };
}
