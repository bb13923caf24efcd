import { createHash } from 'node:crypto';

/**
 * The Python the transport sends a kernel. It is compiled once per kernel process into a module
 * of its own (`sys.modules[MODULE]`, nothing in the user's namespace) and called by name after
 * that, so a transfer costs one small expression, not a compile. The user's code can replace or
 * patch it (or whatever it imports): every answer is checked by the sidecar (`kernel-replies.ts`).
 *
 * File bytes and listings travel as binary buffers of comm messages on iopub, parented to the
 * sidecar's request (one buffer per message, each at most the chunk size asked for); the answer
 * text says what they are. Answers are ASCII of [A-Za-z0-9+/=:,-] only, so their repr is the text
 * between two quotes.
 *   list  -> "=" (the listing hashes to `since`: nothing changed) | "L" + sha256 hex, with one
 *            buffer: JSON {"files": [[b64(path bytes), size, "mtime_ns", "ino"], ...], "truncated": bool}
 *            (nanoseconds and inodes as decimal strings: JSON numbers lose digits past 2^53 in JS)
 *   read  -> one piece per request, joined by ",":  size:mtime_ns:ino:length  | "-" (gone or changed),
 *            and one buffer of `length` bytes per piece that is not "-", in order
 *   write -> "" until the last chunk, then size:mtime_ns:ino of the file in place
 */
const SOURCE = String.raw`
import base64 as _b, hashlib as _h, json as _j, os as _o, stat as _s
from IPython import get_ipython as _ip

def _hidden(name):
    return name.startswith('.') or name == '__pycache__' or name.startswith('~$')

def _stat_text(s):
    return '%d:%d:%d' % (s.st_size, s.st_mtime_ns, s.st_ino)

def _send(buffers):
    k = _ip().kernel
    parent = k.get_parent('shell')
    for data in buffers:
        k.session.send(k.iopub_socket, 'comm_msg', {'comm_id': 'generated-files-collector', 'data': {}},
                       parent=parent, ident=k._topic('comm_msg'), buffers=[data])

def run(args_b64, data_b64=''):
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
                for e in sorted(it, key=lambda e: e.name):
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
        listing = _j.dumps({'files': files, 'truncated': truncated}, separators=(',', ':')).encode()
        digest = _h.sha256(listing).hexdigest()
        if digest == a.get('since'):
            return '='
        _send([listing])
        return 'L' + digest
    if op == 'read':
        out, data = [], []
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
                piece = _o.pread(fd, length, off)
                out.append(_stat_text(s) + ':%d' % len(piece))
                data.append(piece)
            finally:
                _o.close(fd)
        _send(data)
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

/** The collector's module name: a new collector (another sidecar version) is compiled anew, never mixed up. */
export const COLLECTOR_MODULE = `_generated_files_collector_${createHash('sha256').update(SOURCE).digest('hex').slice(0, 12)}`;

/** A Python string literal for ASCII text: JSON's escapes are Python's for these characters. */
function pythonLiteral(text: string): string {
  return JSON.stringify(text);
}

const MODULE = pythonLiteral(COLLECTOR_MODULE);
/** The module, compiled the first time (or again after the user's code removed it). */
const COLLECTOR = `(__import__('sys').modules.get(${MODULE}) or (lambda m: (exec(${pythonLiteral(SOURCE)}, m.__dict__), __import__('sys').modules.__setitem__(${MODULE}, m), m)[2])(__import__('types').ModuleType(${MODULE})))`;

/** The expression: the collector called with base64 JSON arguments (and base64 data for a write). */
export function collectorExpression(args: Record<string, unknown>, data = ''): string {
  const argsB64 = Buffer.from(JSON.stringify(args), 'utf8').toString('base64');
  return `${COLLECTOR}.run(${pythonLiteral(argsB64)}, ${pythonLiteral(data)})`;
}

/** Kernel paths travel as base64 of their bytes: exact, whatever the kernel's file system encoding. */
export function pathArg(relOrAbs: string): string {
  return Buffer.from(relOrAbs, 'utf8').toString('base64');
}
