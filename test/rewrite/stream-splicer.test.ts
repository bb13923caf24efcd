import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KernelFrame } from '../../proxy/wire/kernel-frame.ts';
import { legacyCodec } from '../../proxy/wire/wire-legacy.ts';
import { PathRewriter } from '../../proxy/rewrite/path-rewriter.ts';
import { StreamSplicer } from '../../proxy/rewrite/stream-splicer.ts';

const rewriter = new PathRewriter(['/work/ws/chatA']);

function stream(text: string, parent = 'p1', name = 'stdout'): KernelFrame {
  const msg = {
    header: { msg_id: Math.random().toString(36), msg_type: 'stream' },
    parent_header: { msg_id: parent },
    content: { name, text },
    channel: 'iopub',
  };
  return legacyCodec.decode(Buffer.from(JSON.stringify(msg)), false);
}
const textOf = (frame: KernelFrame) => JSON.parse(frame.encode().data as string).content.text as string;

test('a path split across two stream messages comes out as /mnt/data, message count kept', () => {
  const out: KernelFrame[] = [];
  const splicer = new StreamSplicer(rewriter, (f) => out.push(f), 10_000);
  splicer.push(stream('saved /work/ws/ch'));
  assert.equal(out.length, 0, 'the ambiguous tail is held');
  splicer.push(stream('atA/report.xlsx\n'));
  assert.deepEqual(out.map(textOf), ['saved ', '/mnt/data/report.xlsx\n']);
});

test('a held tail that was not a path is sent unchanged on the next other message or the timer', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const out: KernelFrame[] = [];
  const splicer = new StreamSplicer(rewriter, (f) => out.push(f), 20);
  splicer.push(stream('x /work/ws/chatA'));
  splicer.push(stream('B/y\n', 'p1', 'stderr'));
  // stdout really ended there: the whole path was the workspace after all.
  assert.deepEqual(out.map(textOf), ['x /mnt/data', 'B/y\n']);
  splicer.push(stream('see /work/'));
  t.mock.timers.tick(19);
  assert.deepEqual(out.map(textOf).slice(2), [], 'held until the timer');
  t.mock.timers.tick(1);
  assert.deepEqual(out.map(textOf).slice(2), ['see /work/']);
});

test('a path split three ways still joins up', () => {
  const out: KernelFrame[] = [];
  const splicer = new StreamSplicer(rewriter, (f) => out.push(f), 10_000);
  for (const part of ['/wo', 'rk/ws/', 'chatA/a.csv done\n']) splicer.push(stream(part));
  assert.equal(out.map(textOf).join(''), '/mnt/data/a.csv done\n');
});
