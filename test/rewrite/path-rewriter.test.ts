import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PathRewriter } from '../../proxy/rewrite/path-rewriter.ts';

const rewriter = new PathRewriter(['/srv/ws/chatA', '/real/ws/chatA']);

test('code in: /mnt/data as a whole path segment becomes the workspace', () => {
  const cases: [string, string][] = [
    ['/mnt/data', '/srv/ws/chatA'],
    ['/mnt/data/', '/srv/ws/chatA/'],
    ["'/mnt/data/x y.csv'", "'/srv/ws/chatA/x y.csv'"],
    ["Path('/mnt/data') / 'x'", "Path('/srv/ws/chatA') / 'x'"],
    ['"/mnt/data"+"/a"', '"/srv/ws/chatA"+"/a"'],
    ['f"/mnt/data/{name}"', 'f"/srv/ws/chatA/{name}"'],
    ['/mnt/database', '/mnt/database'],
    ['/mnt/data2', '/mnt/data2'],
    ['/tmp/mnt/data', '/tmp/mnt/data'],
    ['/mnt/data.bak', '/mnt/data.bak'],
    ['x=/mnt/data;y=/mnt/data/b', 'x=/srv/ws/chatA;y=/srv/ws/chatA/b'],
  ];
  for (const [input, expected] of cases) assert.equal(rewriter.codeIn(input), expected, input);
});

test('text out: every form of the workspace path becomes /mnt/data, and nothing else', () => {
  const cases: [string, string][] = [
    ['/srv/ws/chatA/report.xlsx', '/mnt/data/report.xlsx'],
    ['/real/ws/chatA/report.xlsx', '/mnt/data/report.xlsx'],
    ['cwd: /srv/ws/chatA\n', 'cwd: /mnt/data\n'],
    ["No such file: '/srv/ws/chatA/x.csv'", "No such file: '/mnt/data/x.csv'"],
    ['/srv/ws/chatAB/x', '/srv/ws/chatAB/x'],
    ['/other/srv/ws/chatA', '/other/srv/ws/chatA'],
    ['\x1b[0;32m/srv/ws/chatA/x.py\x1b[0m', '\x1b[0;32m/mnt/data/x.py\x1b[0m'],
    ['\x1b[38;5;124;43m/srv/ws/chatA/x.csv\x1b[39;49m', '\x1b[38;5;124;43m/mnt/data/x.csv\x1b[39;49m'],
  ];
  for (const [input, expected] of cases) assert.equal(rewriter.textOut(input), expected, JSON.stringify(input));
});

test('pendingTailLength finds a workspace path cut at the end of a chunk', () => {
  assert.equal(rewriter.pendingTailLength('saved to /srv/ws/ch'), '/srv/ws/ch'.length);
  assert.equal(rewriter.pendingTailLength('saved to /srv/ws/chatA'), '/srv/ws/chatA'.length);
  assert.equal(rewriter.pendingTailLength('done\n'), 0);
  assert.equal(rewriter.pendingTailLength('a/srv/ws'), 0, 'glued to a word: not a path start');
  assert.equal(rewriter.pendingTailLength('/srv/ws/chatA/x'), 0, 'complete path, safe to rewrite now');
  assert.equal(rewriter.pendingTailLength('\x1b[0m/sr'), 3);
});

test('mayAppearInJson: a byte search, trusted only for plain ASCII paths', () => {
  assert.equal(rewriter.mayAppearInJson(Buffer.from('{"data":{"text/plain":"/srv/ws/chatA/x"}}')), true);
  assert.equal(rewriter.mayAppearInJson(Buffer.from('{"data":{"image/png":"iVBORw0KGgo"}}')), false);
  const unicode = new PathRewriter(['/srv/wörk/chatA']);
  assert.equal(
    unicode.mayAppearInJson(Buffer.from('{"x":"/srv/w\\u00f6rk/chatA"}')),
    true,
    'JSON may escape it: always maybe',
  );
});
