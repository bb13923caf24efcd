import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SessionIds } from '../../proxy/mcp/session-ids.ts';

test('every id a sidecar mints is recognised by another sidecar with the same secret, whatever its tag holds', () => {
  const a = new SessionIds('deployment-secret');
  const b = new SessionIds('deployment-secret');
  // A base64url tag holds '_' in about three ids of ten: a thousand ids meet it many times.
  const ids = Array.from({ length: 1000 }, () => a.mint());
  assert.ok(
    ids.some((id) => id.split('_').length > 2),
    'some tag holds an underscore',
  );
  for (const id of ids) assert.ok(b.isOurs(id), id);
});

test('an id minted under another secret, a forged tag, or no tag is not ours', () => {
  const ours = new SessionIds('deployment-secret');
  const id = new SessionIds('other-secret').mint();
  assert.equal(ours.isOurs(id), false);
  const minted = ours.mint();
  assert.equal(ours.isOurs(`${minted.slice(0, -4)}AAAA`), false);
  assert.equal(ours.isOurs(minted.slice(0, minted.indexOf('_'))), false);
  assert.equal(new SessionIds(null).isOurs(minted), false, 'without a secret, no id is portable');
});
