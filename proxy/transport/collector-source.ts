/**
 * The Python the transport sends a kernel. It runs as one `user_expressions` entry of a silent
 * execution, compiled fresh each time into a namespace of its own (nothing is left in the user's
 * namespace, and nothing the user's code replaced between runs is called by name from it; what it
 * imports, the user's code may still have patched: every answer is checked by the sidecar).
 *
 * Answers are ASCII of [A-Za-z0-9+/=:,-] only, so their repr is the text between two quotes.
 *   list  -> base64(JSON {"files": [[b64(path bytes), size, "mtime_ns", "ino"], ...], "truncated": bool})
 *            (nanoseconds and inodes as decimal strings: JSON numbers lose digits past 2^53 in JS)
 *   read  -> one piece per request, joined by ",":  size:mtime_ns:ino:b64(bytes)  | "-" (gone or changed)
 *   write -> "" until the last chunk, then size:mtime_ns:ino of the file in place
 */
const SOURCE = String.raw`
import base64 as _b, json as _j, os as _o, stat as _s

def _hidden(name):
    return name.startswith('.') or name == '__pycache__' or name.startswith('~$')

def _stat_text(s):
    return '%d:%d:%d' % (s.st_size, s.st_mtime_ns, s.st_ino)

def run(args_b64, data_b64):
    a = _j.loads(_b.b64decode(args_b64))
    root = _o.fsdecode(_b.b64decode(a['root']))
    op = a['op']
    if op == 'list':
        _o.makedirs(root, exist_ok=True)
        if a.get('chdir'):
            _o.chdir(root)
        files, stack, truncated = [], [('', 0)], False
        while stack and not truncated:
            rel, depth = stack.pop()
            try:
                it = _o.scandir(_o.path.join(root, rel) if rel else root)
            except OSError:
                continue
            with it:
                for e in it:
                    name = _o.path.join(rel, e.name) if rel else e.name
                    try:
                        s = e.stat(follow_symlinks=False)
                    except OSError:
                        continue
                    if _s.S_ISDIR(s.st_mode):
                        if depth < a['depth'] and (a['hidden'] or not _hidden(e.name)):
                            stack.append((name, depth + 1))
                    elif _s.S_ISREG(s.st_mode):
                        if len(files) >= a['max']:
                            truncated = True
                            break
                        files.append([_b.b64encode(_o.fsencode(name)).decode(), s.st_size, str(s.st_mtime_ns), str(s.st_ino)])
        return _b.b64encode(_j.dumps({'files': files, 'truncated': truncated}).encode()).decode()
    if op == 'read':
        out = []
        for p, off, length, ino in a['pieces']:
            try:
                fd = _o.open(_o.path.join(root, _o.fsdecode(_b.b64decode(p))), _o.O_RDONLY | _o.O_NOFOLLOW | _o.O_NONBLOCK)
            except OSError:
                out.append('-')
                continue
            try:
                s = _o.fstat(fd)
                if not _s.S_ISREG(s.st_mode) or str(s.st_ino) != ino:
                    out.append('-')
                    continue
                data = _o.pread(fd, length, off)
                out.append(_stat_text(s) + ':' + _b.b64encode(data).decode())
            finally:
                _o.close(fd)
        return ','.join(out)
    if op == 'write':
        path = _o.path.join(root, _o.fsdecode(_b.b64decode(a['path'])))
        folder = _o.path.dirname(path)
        _o.makedirs(folder, exist_ok=True)
        temp = _o.path.join(folder, '.sidecar-upload-' + a['temp'])
        with open(temp, 'r+b' if a['offset'] else 'wb') as f:
            f.seek(a['offset'])
            f.write(_b.b64decode(data_b64))
        if not a['last']:
            return ''
        _o.replace(temp, path)
        return _stat_text(_o.stat(path, follow_symlinks=False))
    raise ValueError('unknown op')
`;

/** A Python string literal for ASCII text: JSON's escapes are Python's for these characters. */
function pythonLiteral(text: string): string {
  return JSON.stringify(text);
}

/** The expression: compile the collector into a fresh namespace and call it with base64 JSON arguments. */
export function collectorExpression(args: Record<string, unknown>, data = ''): string {
  const argsB64 = Buffer.from(JSON.stringify(args), 'utf8').toString('base64');
  return `(lambda ns: (exec(${pythonLiteral(SOURCE)}, ns), ns['run'](${pythonLiteral(argsB64)}, ${pythonLiteral(data)}))[1])({})`;
}

/** Kernel paths travel as base64 of their bytes: exact, whatever the kernel's file system encoding. */
export function pathArg(relOrAbs: string): string {
  return Buffer.from(relOrAbs, 'utf8').toString('base64');
}
