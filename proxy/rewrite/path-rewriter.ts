/**
 * Maps `/mnt/data` to one chat's workspace in code going to the kernel, and the workspace back
 * to `/mnt/data` in text coming out. Path-aware: only whole path segments match, so
 * `/mnt/database`, `/mnt/data2` and `/tmp/mnt/data` are left alone.
 */
const MOUNT_PATH = '/mnt/data';

// A path continues through these characters: a match must not be glued to one on either side.
const PATH_CHAR_BEFORE = String.raw`[\w.~/-]`;
const PATH_CHAR_AFTER = String.raw`[\w.~-]`;
// IPython colours tracebacks: a path right after an ANSI colour code (`ESC[0;32m`) starts there.
const AFTER_ANSI = String.raw`(?<=\x1b\[[\d;]*m)`;
// eslint-disable-next-line no-control-regex -- the end of an ANSI colour code is a path boundary
const ENDS_WITH_ANSI = /\x1b\[[\d;]*m$/;

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function pathPattern(paths: readonly string[]): RegExp {
  const alternatives = [...new Set(paths)].sort((a, b) => b.length - a.length).map(escapeRegExp);
  return new RegExp(
    `(?:${AFTER_ANSI}|(?<!${PATH_CHAR_BEFORE}))(?:${alternatives.join('|')})(?!${PATH_CHAR_AFTER})`,
    'g',
  );
}

const PATH_CHAR_BEFORE_TEST = new RegExp(PATH_CHAR_BEFORE);

// The most bytes one UTF-16 code unit of a string takes in JSON: `\uXXXX`.
const MAX_JSON_BYTES_PER_UNIT = 6;
const UNICODE_ESCAPE = Buffer.from('\\u', 'latin1');

function commonPrefix(paths: readonly string[]): string | null {
  let prefix = paths[0]!;
  for (const p of paths) while (!p.startsWith(prefix)) prefix = prefix.slice(0, -1);
  return prefix.length >= 4 ? prefix : null;
}

export class PathRewriter {
  private readonly inbound: RegExp;
  private readonly outbound: RegExp;
  /** Every form of the workspace path the kernel may print (as configured, and its real path). */
  readonly workspacePaths: readonly string[];

  constructor(
    workspacePaths: readonly string[],
    readonly mountPath: string = MOUNT_PATH,
  ) {
    this.workspacePaths = [...new Set(workspacePaths.map((p) => p.replace(/\/+$/, '')))].filter(Boolean);
    if (this.workspacePaths.length === 0) throw new Error('PathRewriter needs at least one workspace path');
    this.inbound = pathPattern([mountPath]);
    this.jsonNeedles = this.workspacePaths.every((p) => /^[\x20-\x7e]*$/.test(p) && !/["\\]/.test(p))
      ? this.workspacePaths.map((p) => Buffer.from(p, 'latin1'))
      : null;
    this.commonNeedle = this.jsonNeedles ? commonPrefix(this.workspacePaths) : null;
    this.firstBytes = [...new Set(this.workspacePaths.map((p) => p.charCodeAt(0)))];
    this.longestPath = Math.max(...this.workspacePaths.map((p) => p.length));
    this.outbound = pathPattern(this.workspacePaths);
  }

  /**
   * Could the workspace path appear in this JSON? A byte search that lets large outputs (images,
   * big tables) skip parsing. Only trusted when every path form is plain ASCII that JSON does not
   * escape; otherwise it says "maybe".
   */
  mayAppearInJson(json: Buffer): boolean {
    if (!this.jsonNeedles) return true;
    return this.jsonNeedles.some((needle) => json.includes(needle));
  }

  private readonly jsonNeedles: Buffer[] | null;
  private readonly commonNeedle: string | null;
  /** The first character of each path form (ASCII whenever jsonNeedles is set). */
  private readonly firstBytes: number[];
  private readonly longestPath: number;

  /**
   * One string that every form of the workspace path, as JSON bytes, contains (their longest
   * common prefix, which holds the root), or null when JSON may escape them or they share too
   * little to be worth searching for.
   */
  jsonNeedle(): string | null {
    return this.commonNeedle;
  }

  /**
   * Could the text of this JSON string value (quotes included) end in the start of a workspace
   * path, as pendingTailLength sees it? A byte look at its last bytes, so that stream output
   * need not be parsed: such an end begins with a path's first character within the text's last
   * `longest path` characters, and a character takes at most 6 bytes in JSON. So a "no" needs
   * none of those first characters in that many bytes before the closing quote, as a byte (`/`
   * also stands in `\/`) or hidden in a `\u` escape. Trusted under the same terms as
   * mayAppearInJson; otherwise it says "maybe".
   */
  mayEndInPathStartJson(json: Buffer): boolean {
    if (!this.jsonNeedles) return true;
    const end = json.length - 1;
    const tail = json.subarray(Math.max(1, end - MAX_JSON_BYTES_PER_UNIT * this.longestPath), end);
    return tail.includes(UNICODE_ESCAPE) || this.firstBytes.some((byte) => tail.includes(byte));
  }

  /** Code going to the kernel: `/mnt/data` becomes the workspace. */
  codeIn(code: string): string {
    if (!code.includes(this.mountPath)) return code;
    const workspace = this.workspacePaths[0]!;
    return code.replace(this.inbound, () => workspace);
  }

  /** Text coming from the kernel: the workspace becomes `/mnt/data`. */
  textOut(text: string): string {
    if (!this.workspacePaths.some((p) => text.includes(p))) return text;
    return text.replace(this.outbound, () => this.mountPath);
  }

  /**
   * How many characters at the end of `text` could be the start of a workspace path whose rest
   * is still to come (stream output is split at arbitrary points). 0 when the end is safe to send.
   * A whole workspace path at the very end counts too: the next character decides whether it is
   * this chat's folder or a longer name.
   */
  pendingTailLength(text: string): number {
    let longest = 0;
    for (const workspace of this.workspacePaths) {
      const max = Math.min(workspace.length, text.length);
      for (let k = max; k > longest; k--) {
        if (!text.endsWith(workspace.slice(0, k))) continue;
        const before = text[text.length - k - 1];
        if (
          before === undefined ||
          !PATH_CHAR_BEFORE_TEST.test(before) ||
          ENDS_WITH_ANSI.test(text.slice(0, text.length - k))
        )
          longest = k;
        break;
      }
    }
    return longest;
  }
}
