import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KernelFrame } from '../../proxy/wire/kernel-frame.ts';
import { legacyCodec } from '../../proxy/wire/wire-legacy.ts';
import { packV1, v1Codec } from '../../proxy/wire/wire-v1.ts';
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

/** A v1 frame, as ipykernel's JSON lays stream content out ({"name", "text"}) unless `content` says otherwise. */
function v1Stream(text: string, parent = 'p1', name = 'stdout', content?: string): KernelFrame {
  const json = (v: unknown) => Buffer.from(JSON.stringify(v));
  return v1Codec.decode(
    packV1([
      Buffer.from('iopub'),
      json({ msg_id: Math.random().toString(36), msg_type: 'stream' }),
      json({ msg_id: parent }),
      json({}),
      Buffer.from(content ?? JSON.stringify({ name, text })),
    ]),
    true,
  );
}
const v1TextOf = (frame: KernelFrame) =>
  (
    JSON.parse(
      v1Codec
        .decode(frame.encode().data as Buffer, true)
        .rawContent()!
        .toString(),
    ) as { text: string }
  ).text;

/** Counts the content parses of the frames it wraps. */
function countingParses(frame: KernelFrame, count: { parses: number }): KernelFrame {
  const content = frame.content.bind(frame);
  return Object.assign(Object.create(frame) as KernelFrame, {
    content: () => (count.parses++, content()),
  });
}

test('v1: a path split at any point across stream messages comes out as legacy frames do', () => {
  const whole = 'saved /work/ws/chatA/report.xlsx and /work/ws/chatAB/x to /work/ws/chatA\n';
  for (let cut = 0; cut <= whole.length; cut++)
    for (const third of [whole.length, Math.min(whole.length, cut + 7)]) {
      const parts = [whole.slice(0, cut), whole.slice(cut, third), whole.slice(third)].filter(Boolean);
      const v1: KernelFrame[] = [];
      const legacy: KernelFrame[] = [];
      const splicers = [
        new StreamSplicer(rewriter, (f) => v1.push(f), 10_000),
        new StreamSplicer(rewriter, (f) => legacy.push(f), 10_000),
      ];
      for (const part of parts) {
        splicers[0]!.push(v1Stream(part));
        splicers[1]!.push(stream(part));
      }
      for (const splicer of splicers) splicer.flush();
      assert.deepEqual(v1.map(v1TextOf), legacy.map(textOf), JSON.stringify(parts));
      assert.equal(v1.map(v1TextOf).join(''), 'saved /mnt/data/report.xlsx and /work/ws/chatAB/x to /mnt/data\n');
      assert.equal(v1.length, parts.length, 'message count kept');
    }
});

test('v1: stream text with no path in reach passes unparsed, byte for byte', () => {
  const count = { parses: 0 };
  const out: KernelFrame[] = [];
  const splicer = new StreamSplicer(rewriter, (f) => out.push(f), 10_000);
  const texts = [`${'x'.repeat(5000)}\n`, `a/b/c, then ${'z'.repeat(90)}\n`, `/${'y'.repeat(200)}`, ''];
  const frames = texts.map((text) => v1Stream(text));
  for (const frame of frames) splicer.push(countingParses(frame, count));
  assert.equal(count.parses, 0);
  assert.deepEqual(
    out.map((f) => f.encode().data),
    frames.map((f) => f.encode().data),
  );
});

test('v1: the fast path steps aside for a path, a possible path start, a held tail, and other layouts', () => {
  const cases: Array<{ frames: KernelFrame[]; expected: string[] }> = [
    { frames: [v1Stream('see /work/ws/chatA/a.txt\n')], expected: ['see /mnt/data/a.txt\n'] },
    { frames: [v1Stream('end /work/ws/ch'), v1Stream('atA\n')], expected: ['end ', '/mnt/data\n'] },
    // A held tail joins the next message of its stream even when that one alone looks clean.
    { frames: [v1Stream('to /work/'), v1Stream('ws/chatA\nxxxx\n')], expected: ['to ', '/mnt/data\nxxxx\n'] },
    // text first (not ipykernel's layout): found by parsing instead.
    {
      frames: [v1Stream('', 'p1', 'stdout', JSON.stringify({ text: 'at /work/ws/chatA', name: 'stdout' }))],
      expected: ['at /mnt/data'],
    },
    {
      frames: [
        v1Stream('', 'p1', 'stdout', JSON.stringify({ text: 'at /work/ws/ch', name: 'stdout' })),
        v1Stream('atA'),
      ],
      expected: ['at ', '/mnt/data'],
    },
  ];
  for (const { frames, expected } of cases) {
    const out: KernelFrame[] = [];
    const splicer = new StreamSplicer(rewriter, (f) => out.push(f), 10_000);
    for (const frame of frames) splicer.push(frame);
    splicer.flush();
    assert.deepEqual(out.map(v1TextOf), expected);
  }
});
