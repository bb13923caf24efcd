import { createHash } from 'node:crypto';

/**
 * The Python the transport sends a kernel. It is compiled once per kernel process into a module
 * of its own (`sys.modules[MODULE]`, nothing in the user's namespace) by one silent execution,
 * which also registers the module's handler for a shell message type of its own
 * (`kernel.shell_handlers[REQUEST_TYPE]`). Every transfer after that is a shell request of that
 * type and its reply: no execution machinery, no history, and the reply goes to the connection
 * that asked only (iopub would go to every connection of the kernel, and Jupyter Server
 * deserializes and rate-limits every iopub message, dropping what exceeds 1,000 a second).
 * The user's code can replace or patch all of it: every answer is checked by the sidecar
 * (`kernel-replies.ts`).
 *
 * A request's content is `{"args": {...}}` (paths as base64 of their bytes); a write's bytes come
 * as the request's one binary buffer. The reply's content is `{"status": "ok", "text": ...}` with
 * the file bytes or the listing as its binary buffers; `text` is ASCII of [A-Za-z0-9+/=:,-] only
 * and says what they are:
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

_types = ['', '']

def _hidden(name):
    return name.startswith('.') or name == '__pycache__' or name.startswith('~$')

def _stat_text(s):
    return '%d:%d:%d' % (s.st_size, s.st_mtime_ns, s.st_ino)

def _list(a, root):
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
        return '=', []
    return 'L' + digest, [listing]

def _read(a, root):
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
    return ','.join(out), data

def _write(a, root, data):
    path = _o.path.join(root, _o.fsdecode(_b.b64decode(a['path'])))
    folder = _o.path.dirname(path)
    _o.makedirs(folder, exist_ok=True)
    temp = _o.path.join(folder, '.sidecar-upload-' + a['temp'])
    with open(temp, 'r+b' if a['offset'] else 'wb') as f:
        f.seek(a['offset'])
        f.write(data)
    if not a['last']:
        return '', []
    _o.replace(temp, path)
    return _stat_text(_o.stat(path, follow_symlinks=False)), []

def _op(a, buffers):
    root = _o.fsdecode(_b.b64decode(a['root']))
    op = a['op']
    if op == 'list':
        return _list(a, root)
    if op == 'read':
        return _read(a, root)
    if op == 'write':
        return _write(a, root, bytes(buffers[0]) if buffers else b'')
    raise ValueError('unknown op')

def _reply(stream, ident, parent, content, buffers):
    _ip().kernel.session.send(stream, _types[1], content, parent, ident=ident, buffers=buffers)

def _handle(stream, ident, parent):
    try:
        text, buffers = _op(parent['content']['args'], parent.get('buffers') or [])
        content = {'status': 'ok', 'text': text}
    except Exception:
        content, buffers = {'status': 'error'}, []
    _reply(stream, ident, parent, content, buffers)

def install(request_type, reply_type):
    _types[:] = [request_type, reply_type]
    _ip().kernel.shell_handlers[request_type] = _handle
    return 'ok'
`;

const HASH = createHash('sha256').update(SOURCE).digest('hex').slice(0, 12);

/** The collector's module name: a new collector (another sidecar version) is compiled anew, never mixed up. */
const COLLECTOR_MODULE = `_generated_files_collector_${HASH}`;

/** The shell message types of this collector's requests and replies (another version has its own). */
export const REQUEST_TYPE = `generated_files_${HASH}_request`;
export const REPLY_TYPE = `generated_files_${HASH}_reply`;

/** A Python string literal for ASCII text: JSON's escapes are Python's for these characters. */
function pythonLiteral(text: string): string {
  return JSON.stringify(text);
}

const MODULE = pythonLiteral(COLLECTOR_MODULE);
/** The module, compiled the first time (or again after the user's code removed it). */
const COLLECTOR = `(__import__('sys').modules.get(${MODULE}) or (lambda m: (exec(${pythonLiteral(SOURCE)}, m.__dict__), __import__('sys').modules.__setitem__(${MODULE}, m), m)[2])(__import__('types').ModuleType(${MODULE})))`;

/**
 * The expression one silent execution evaluates to (re)install the collector: the module compiled
 * when it is missing, its handler registered for REQUEST_TYPE. Its value is the text `'ok'`.
 */
export const INSTALL_EXPRESSION = `${COLLECTOR}.install(${pythonLiteral(REQUEST_TYPE)}, ${pythonLiteral(REPLY_TYPE)})`;

/** Kernel paths travel as base64 of their bytes: exact, whatever the kernel's file system encoding. */
export function pathArg(relOrAbs: string): string {
  return Buffer.from(relOrAbs, 'utf8').toString('base64');
}
