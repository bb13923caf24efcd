/**
 * `generated-files-sidecar token`: the real CLI (proxy/main.ts, as `npm start` runs it) prints a
 * token that the real files API accepts for exactly what it names, and refuses to mint one the
 * API would refuse. Also the embed snippet the sidecar prints at start.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { embedSnippet } from '../../proxy/embed-snippet.ts';
import { parseTtl } from '../../proxy/links/chat-token.ts';
import { seed, SECRET, startApi, url, type ApiFixture } from '../support/api-fixture.ts';

const run = promisify(execFile);

/** Runs `generated-files-sidecar token ...`; resolves with stdout, or the exit code and stderr. */
async function cli(args: string[], env: Record<string, string> = { FILES_API_SECRET: SECRET }) {
  try {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'proxy/main.ts', 'token', ...args], {
      env: { PATH: process.env.PATH ?? '', ...env },
    });
    return { code: 0, stdout: stdout.trim(), stderr: '' };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe('generated-files-sidecar token', () => {
  let api: ApiFixture;
  before(async () => {
    api = await startApi({ auth: { secret: SECRET } });
    await seed(api, 'c1', { 'a.csv': 'a' }); // owned by alice (from the execution)
    await seed(api, 'c2', { 'b.csv': 'b' });
  });
  after(() => api.close());

  const list = (chat: string, token: string) => api.request.get(url(chat, '/files')).auth(token, { type: 'bearer' });

  it('--chat c1 opens c1 and nothing else; --ttl sets its life', async () => {
    const { code, stdout, stderr } = await cli(['--chat', 'c1', '--ttl', '30m']);
    assert.equal(code, 0, stderr);
    assert.equal((await list('c1', stdout).expect(200)).body.files.length, 1);
    await list('c2', stdout).expect(404);
    const claims = JSON.parse(Buffer.from(stdout.split('.')[1]!, 'base64url').toString()) as Record<string, number>;
    assert.equal(claims.exp! - claims.iat!, 1800);
  });

  it('--user alice opens the chats alice owns', async () => {
    const { stdout } = await cli(['--user', 'alice']);
    await list('c1', stdout).expect(200);
  });

  it('refuses, with the fix, what the API would refuse or cannot need', async () => {
    const noSecret = await cli(['--chat', 'c1'], {});
    assert.equal(noSecret.code, 2);
    assert.match(noSecret.stderr, /ERR_OPTIONS_TOKEN: FILES_API_SECRET \(or FILES_API_SECRET_FILE\) is not set/);
    const tooLong = await cli(['--chat', 'c1', '--ttl', '2d']);
    assert.match(tooLong.stderr, /longer than the 86400 s the sidecar accepts \(--token-max-lifetime-s\)/);
    assert.match((await cli(['--chat', '../c1'])).stderr, /is not a chat id/);
    assert.match((await cli([])).stderr, /Usage: generated-files-sidecar token --chat CHAT_ID/);
    assert.match((await cli(['--chat', 'c1', '--ttl', 'soon'])).stderr, /not a duration/);
  });
});

describe('token lifetimes and the embed snippet', () => {
  it('reads 90, 90s, 30m, 1h and 1d; refuses the rest', () => {
    assert.deepEqual(['90', '90s', '30m', '1h', '1d', '0', '-1h', '1w', ''].map(parseTtl), [
      90,
      90,
      1800,
      3600,
      86_400,
      null,
      null,
      null,
      null,
    ]);
  });

  it('names the script for its own address, --cors-origins, and how to get a token', () => {
    const open = embedSnippet('http://127.0.0.1:8890/', { publicUrl: null, corsOrigins: [], filesSecret: null });
    assert.match(open, /<script type="module" src="http:\/\/127\.0\.0\.1:8890\/sidecar\/widget\/generated-files\.js">/);
    assert.match(open, /--cors-origins https:\/\/chat\.example\.com/);
    assert.match(open, /<generated-files chat-id="CHAT_ID"><\/generated-files>/);
    const behind = embedSnippet('http://0.0.0.0:8890/', {
      publicUrl: new URL('https://files.example.com/prefix'),
      corsOrigins: ['https://chat.example.com'],
      filesSecret: 'x'.repeat(32),
    });
    assert.match(behind, /src="https:\/\/files\.example\.com\/prefix\/sidecar\/widget\/generated-files\.js"/);
    assert.match(behind, /pages of https:\/\/chat\.example\.com may call it/);
    assert.match(behind, /token="TOKEN"/);
    assert.match(behind, /generated-files-sidecar token --chat CHAT_ID/);
  });
});
