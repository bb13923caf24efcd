import type { KernelFrame } from '../wire/kernel-frame.ts';
import { spliceFields, topLevelFields, type FieldSpan } from './json-fields.ts';
import { rewriteJsonStringWindows } from './json-string-windows.ts';

/** Contents at least this large take the field-by-field path; smaller ones are parsed whole. */
export const LARGE_CONTENT_BYTES = 1024 * 1024;

export interface LargeContentRewrite {
  /** Top-level content fields that may carry the path. */
  fields: readonly string[];
  /** Bytes every spelling of the path contains in JSON: a field without any is not looked at. */
  needle: string;
  /** The text rewrite (local: see json-string-windows.ts). */
  rewriteText: (text: string) => string;
  /** For a field that is not a string: the rewrite of its parsed value (the same value when unchanged). */
  rewriteValue: (value: unknown) => unknown;
  /** How far past the needle a match may reach (the rest of a path that starts with it). */
  reach?: number;
  /**
   * Members of an object field that are never rewritten (base64 images in a MIME bundle): their
   * bytes are skipped, not searched, and the other members are rewritten one by one.
   */
  isOpaqueMember?: (key: string) => boolean;
}

/**
 * A large message's content, rewritten without parsing and re-serializing all of it (a data
 * literal pasted into code, a huge output): only the named fields whose bytes hold the needle
 * are looked at; in a string field, only windows around each needle are decoded; the new
 * content goes to the frame as pieces, packed once. Every other byte is kept.
 * Returns the content's top-level field spans (empty when it is not a JSON object), or null when
 * the frame is small or its format keeps no raw content: the caller takes the generic path.
 */
export function rewriteLargeContent(
  frame: KernelFrame,
  how: LargeContentRewrite,
): { raw: Buffer; fields: Map<string, FieldSpan>; changed: boolean } | null {
  const raw = frame.rawContent();
  if (!raw || raw.length < LARGE_CONTENT_BYTES || !frame.replaceRawContent) return null;
  let fields: Map<string, FieldSpan>;
  try {
    fields = topLevelFields(raw);
  } catch {
    return { raw, fields: new Map(), changed: false }; // not a JSON object: nothing to rewrite, the peer judges it
  }
  const replacements: Array<{ span: FieldSpan; json: Buffer[] }> = [];
  const rewriteSpan = (span: FieldSpan): void => {
    const bytes = raw.subarray(span.start, span.end);
    if (bytes.indexOf(how.needle) === -1) return;
    if (bytes[0] === 0x22) {
      const pieces = rewriteJsonStringWindows(bytes, how.needle, how.rewriteText, how.reach);
      if (pieces) replacements.push({ span, json: pieces });
      return;
    }
    const value: unknown = JSON.parse(bytes.toString('utf8'));
    const out = how.rewriteValue(value);
    if (out !== value) replacements.push({ span, json: [Buffer.from(JSON.stringify(out), 'utf8')] });
  };
  for (const name of how.fields) {
    const span = fields.get(name);
    if (!span) continue;
    const members = how.isOpaqueMember && raw[span.start] === 0x7b ? membersOf(raw, span) : undefined;
    if (!members) {
      rewriteSpan(span);
      continue;
    }
    for (const [key, member] of members) if (!how.isOpaqueMember!(key)) rewriteSpan(member);
  }
  if (replacements.length > 0) frame.replaceRawContent(spliceFields(raw, replacements));
  return { raw, fields, changed: replacements.length > 0 };
}

/** The members of the object at `span`, as spans of `raw`; undefined when it does not scan as an object. */
function membersOf(raw: Buffer, span: FieldSpan): Map<string, FieldSpan> | undefined {
  let members: Map<string, FieldSpan>;
  try {
    members = topLevelFields(raw.subarray(span.start, span.end));
  } catch {
    return undefined;
  }
  for (const member of members.values()) {
    member.start += span.start;
    member.end += span.start;
  }
  return members;
}
