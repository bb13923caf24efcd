/**
 * Squeezes the indentation out of Lit's html`` and svg`` templates in source text, for the
 * script-tag bundle. A run of whitespace that holds a line break becomes one space: HTML
 * renders any such run as one space (the element has no <pre> or <textarea>), so what the
 * user sees does not change, only the bytes sent. Other template literals, strings and
 * comments are copied as they are.
 */

const TAG = /\b(?:html|svg)$/;

export function squeezeLitTemplates(code: string): string {
  let out = '';
  let i = 0;

  /** Copies a quoted string or plain template literal starting at `i`. */
  const copyQuoted = (quote: string): void => {
    out += code[i++];
    while (i < code.length && code[i] !== quote) {
      if (code[i] === '\\') out += code[i++];
      if (quote === '`' && code.startsWith('${', i)) {
        out += '${';
        i += 2;
        expression();
        continue;
      }
      out += code[i++];
    }
    out += code[i++] ?? '';
  };

  /** A Lit template: squeeze the static parts, recurse into `${...}`. */
  const template = (): void => {
    out += code[i++];
    let text = '';
    const flush = () => {
      out += text.replace(/\s*\n\s*/g, ' ');
      text = '';
    };
    while (i < code.length && code[i] !== '`') {
      if (code[i] === '\\') text += code[i++];
      if (code.startsWith('${', i)) {
        flush();
        out += '${';
        i += 2;
        expression();
        continue;
      }
      text += code[i++];
    }
    flush();
    out += code[i++] ?? '';
  };

  /** Code inside `${...}` up to its closing brace (consumed), or top-level code when `top`. */
  const expression = (top = false): void => {
    let depth = 0;
    while (i < code.length) {
      const ch = code[i]!;
      if (ch === '/' && code[i + 1] === '/') {
        const end = code.indexOf('\n', i);
        const stop = end === -1 ? code.length : end;
        out += code.slice(i, stop);
        i = stop;
      } else if (ch === '/' && code[i + 1] === '*') {
        const end = code.indexOf('*/', i + 2);
        const stop = end === -1 ? code.length : end + 2;
        out += code.slice(i, stop);
        i = stop;
      } else if (ch === "'" || ch === '"') {
        copyQuoted(ch);
      } else if (ch === '`') {
        if (TAG.test(out.trimEnd())) template();
        else copyQuoted('`');
      } else if (ch === '{') {
        depth++;
        out += code[i++];
      } else if (ch === '}') {
        if (!top && depth === 0) {
          out += code[i++];
          return;
        }
        depth--;
        out += code[i++];
      } else {
        out += code[i++];
      }
    }
  };

  expression(true);
  return out;
}
