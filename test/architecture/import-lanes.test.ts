import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { checkImportLanes, roomOf, ROOM_RANKS } from './import-lanes.ts';

const repoRoot = path.resolve(import.meta.dirname, '../..');

function fixture(files: Record<string, string>): string {
  const root = mkdtempSync(path.join(tmpdir(), 'lanes-'));
  for (const [file, source] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    writeFileSync(path.join(root, file), source);
  }
  return root;
}

describe('import lanes', () => {
  const roots: string[] = [];
  after(() => roots.forEach((r) => rmSync(r, { recursive: true, force: true })));
  const tree = (files: Record<string, string>) => {
    const root = fixture(files);
    roots.push(root);
    return root;
  };
  const ranks = { contract: 0, wire: 1, gateway: 2, sidecar: 3 };

  it('the repository keeps the rule', () => {
    assert.deepEqual(checkImportLanes(repoRoot), []);
  });

  it('names rooms by folder, and top-level modules by file', () => {
    assert.equal(roomOf('proxy/wire/wire-v1.ts'), 'wire');
    assert.equal(roomOf('proxy/storage/postgres/pg-pool.ts'), 'storage');
    assert.equal(roomOf('proxy/options.ts'), 'options');
    assert.equal(roomOf('contract/files-api.ts'), 'contract');
    assert.equal(roomOf('widget/format.ts'), 'widget');
    assert.ok(ROOM_RANKS.wire! < ROOM_RANKS.gateway! && ROOM_RANKS.storage! < ROOM_RANKS.api!);
  });

  it('accepts imports from the same or an earlier stage', () => {
    const root = tree({
      'proxy/wire/frame.ts': "import type { X } from '../../contract/api.ts';\nexport const a = 1;\n",
      'proxy/gateway/relay.ts':
        "import { a } from '../wire/frame.ts';\nimport { b } from './b.ts';\nimport 'node:fs';\n",
      'proxy/gateway/b.ts': 'export const b = 2;\n',
      'proxy/sidecar.ts': "export { a } from './wire/frame.ts';\nconst m = await import('./gateway/relay.ts');\n",
      'contract/api.ts': 'export type X = 1;\n',
      'widget/el.ts':
        "import type { X } from '../contract/api.ts';\nimport { y } from './y.ts';\nimport { html } from 'lit';\n",
      'widget/y.ts': 'export const y = 1;\n',
    });
    assert.deepEqual(checkImportLanes(root, ranks), []);
  });

  it('fails on an import from a later stage (planted), including re-exports and dynamic imports', () => {
    const root = tree({
      'proxy/wire/frame.ts': "import { relay } from '../gateway/relay.ts';\nexport * from '../gateway/relay.ts';\n",
      'proxy/gateway/relay.ts': "export const relay = 1;\nconst s = await import('../sidecar.ts');\n",
      'proxy/sidecar.ts': 'export {};\n',
    });
    const found = checkImportLanes(root, ranks).map((v) => `${v.file} -> ${v.imports}`);
    assert.deepEqual(found.sort(), [
      'proxy/gateway/relay.ts -> proxy/sidecar.ts',
      'proxy/wire/frame.ts -> proxy/gateway/relay.ts',
      'proxy/wire/frame.ts -> proxy/gateway/relay.ts',
    ]);
  });

  it('fails when widget/ imports proxy/ (planted), or contract/ imports anything else', () => {
    const root = tree({
      'widget/el.ts': "import type { T } from '../proxy/api/types.ts';\n",
      'contract/api.ts': "import { a } from '../proxy/wire/frame.ts';\n",
      'proxy/api/types.ts': 'export type T = 1;\n',
      'proxy/wire/frame.ts': "import { w } from '../../widget/el.ts';\n",
    });
    const reasons = checkImportLanes(root, { ...ranks, api: 4 }).map((v) => `${v.file}: ${v.reason}`);
    assert.equal(reasons.length, 3, reasons.join('\n'));
    assert.match(reasons.join('\n'), /widget\/el\.ts: widget\/ may import only widget\/ and contract\//);
    assert.match(reasons.join('\n'), /contract\/api\.ts: contract\/ may import only contract\//);
    assert.match(reasons.join('\n'), /proxy\/wire\/frame\.ts: proxy\/ imports nothing outside proxy\/ but contract\//);
  });

  it('fails on a room without a rank', () => {
    const root = tree({ 'proxy/newroom/x.ts': 'export {};\n' });
    assert.match(checkImportLanes(root, ranks)[0]!.reason, /room "newroom" has no rank/);
  });
});
