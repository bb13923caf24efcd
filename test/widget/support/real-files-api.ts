/**
 * The sidecar's real files API (its own routes over real records and blobs in a temp folder),
 * on a real port, for the browser tests. Started and stopped with the test run by this
 * @web/test-runner plugin. The tests reach it cross-origin, as a page embedding the element
 * does, and drive it through control routes on the test server:
 *   GET  /__real/origin                       -> { origin, strict, flaky }: the API's origin; the same API
 *                                                allowing only another page's origin (CORS refused); and
 *                                                the same API on a server the test can stop and start again
 *   POST /__real/down                         -> the flaky server stops listening, its connections cut
 *   POST /__real/up                           -> it listens again, on the same port
 *   POST /__real/seed    { chatId, files, run? } -> files written into the workspace, one real scan (as
 *                                                run `run`); a `base64:` content is bytes, `fixture:docx` a
 *                                                docx with a table (and script-like text, a javascript: link,
 *                                                a remote image)
 *   POST /__real/token   { chat }             -> { token } for that chat
 *   POST /__real/hold    { chatId }           -> the chat's next upload is held before the routes see it
 *   POST /__real/held    { chatId }           -> answers once that upload has arrived and is held
 *   POST /__real/gone    { chatId }           -> answers once the held upload's connection has closed
 *   POST /__real/release { chatId }           -> lets it through (or finds its connection closed)
 */
import { once } from 'node:events';
import { filesApiParts } from '../../support/api-fixture.ts';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { signToken } from '../../support/tokens.ts';
import { createFilesApi } from '../../../proxy/api/files-routes.ts';
import { API_PREFIX, type FileListResponse } from '../../../contract/files-api.ts';
import { summarizeFiles } from '../../../proxy/api/file-summary.ts';
import { createFixture, type Fixture } from '../../support/recorder-fixture.ts';
import { hostileDocx } from '../../previews/hostile-files.ts';

export const REAL_API_SECRET = 'widget-tests-secret-0123456789-abcdefgh';
/** Small, so a refused upload is quick to provoke. */
export const REAL_API_UPLOAD_LIMIT = 64 * 1024;
/** Small, so the quota refusal is quick to provoke too. */
export const REAL_API_QUOTA = 256 * 1024;

interface Running {
  fixture: Fixture;
  server: http.Server;
  origin: string;
  holds: Map<string, UploadHold>;
  /** The same records and routes, for a page whose origin is not allowed. */
  strict: { server: http.Server; origin: string };
  /** The same records and routes, on a server that goes down and comes back on cue. */
  flaky: { server: http.Server; origin: string; port: number };
}

/** The page of another origin that the strict server allows instead of the test page. */
export const STRICT_CORS_ORIGIN = 'https://chat.elsewhere.example';

/** What a seeded file holds: text as given, or bytes a browser test cannot write as text. */
async function seedBytes(content: string): Promise<string | Buffer> {
  if (content.startsWith('base64:')) return Buffer.from(content.slice('base64:'.length), 'base64');
  return content === 'fixture:docx' ? hostileDocx() : content;
}

async function listen(server: http.Server, port = 0): Promise<number> {
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

async function stop(server: http.Server): Promise<void> {
  if (!server.listening) return;
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}

/** One held upload: the test learns when it arrived and decides when it goes on. */
interface UploadHold {
  arrived: Promise<void>;
  arrive: () => void;
  released: Promise<void>;
  release: () => void;
  /** Settles once the held request's connection has closed (a canceled upload). */
  gone: Promise<void>;
  leave: () => void;
}

function uploadHold(): UploadHold {
  const hold = {} as UploadHold;
  hold.arrived = new Promise((resolve) => (hold.arrive = resolve));
  hold.released = new Promise((resolve) => (hold.release = resolve));
  hold.gone = new Promise((resolve) => (hold.leave = resolve));
  return hold;
}

async function start(): Promise<Running> {
  const fixture = await createFixture({ policy: { quotaBytes: REAL_API_QUOTA } });
  const holds = new Map<string, UploadHold>();
  const app = express();
  // Ahead of the real routes: a held upload's headers have arrived, its answer waits for the test.
  app.put(`${API_PREFIX}/chats/:chatId/uploads/*path`, async (req, _res, next) => {
    const hold = holds.get(req.params.chatId);
    if (!hold) return next();
    holds.delete(req.params.chatId);
    if (req.destroyed) hold.leave();
    else req.once('close', hold.leave);
    hold.arrive();
    await hold.released;
    next();
  });
  const api = (corsOrigins: string[]) =>
    createFilesApi({
      ...fixture,
      // Renders get a minute: a loaded machine can take longer than the 10 s default, and the
      // deadline itself is tested in test/previews, not here.
      ...filesApiParts(fixture, { timeoutMs: 60_000 }),
      auth: { secret: REAL_API_SECRET },
      corsOrigins,
      uploadLimitBytes: REAL_API_UPLOAD_LIMIT,
      sseHeartbeatMs: 1000,
    });
  app.use(API_PREFIX, api(['*']));
  const server = http.createServer(app);
  const port = await listen(server);
  const strict = http.createServer(express().use(API_PREFIX, api([STRICT_CORS_ORIGIN])));
  const strictPort = await listen(strict);
  const flaky = http.createServer(express().use(API_PREFIX, api(['*'])));
  const flakyPort = await listen(flaky);
  return {
    fixture,
    server,
    origin: `http://127.0.0.1:${port}`,
    holds,
    strict: { server: strict, origin: `http://127.0.0.1:${strictPort}` },
    flaky: { server: flaky, origin: `http://127.0.0.1:${flakyPort}`, port: flakyPort },
  };
}

async function readJson(req: http.IncomingMessage): Promise<Record<string, unknown>> {
  let text = '';
  for await (const chunk of req) text += chunk;
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
}

export function realFilesApi() {
  let running: Running | null = null;
  // A hold leaves the server's `holds` when its upload arrives; the test reaches it here until released.
  const heldUploads = new Map<string, UploadHold>();
  const plugin = {
    name: 'real-files-api',
    async serverStart() {
      running = await start();
    },
    async serverStop() {
      if (!running) return;
      for (const server of [running.server, running.strict.server, running.flaky.server]) await stop(server);
      await running.fixture.recorder.close();
      await running.fixture.cleanup();
    },
  };
  return {
    plugin,
    /** Koa-style middleware on the test server for the control routes. */
    middleware: async (
      ctx: { path: string; method: string; req: http.IncomingMessage; body: unknown; status: number },
      next: () => Promise<void>,
    ) => {
      if (!ctx.path.startsWith('/__real/')) return next();
      const api = running!;
      const action = ctx.path.slice('/__real/'.length);
      if (action === 'origin') {
        ctx.body = { origin: api.origin, strict: api.strict.origin, flaky: api.flaky.origin };
        return;
      }
      if (action === 'down') {
        await stop(api.flaky.server);
        ctx.body = {};
        return;
      }
      if (action === 'up') {
        if (!api.flaky.server.listening) await listen(api.flaky.server, api.flaky.port);
        ctx.body = {};
        return;
      }
      const body = await readJson(ctx.req);
      if (action === 'token') {
        ctx.body = { token: await signToken(REAL_API_SECRET, { chat: String(body.chat) }) };
        return;
      }
      if (action === 'hold') {
        const hold = uploadHold();
        api.holds.set(String(body.chatId), hold);
        heldUploads.set(String(body.chatId), hold);
        ctx.body = {};
        return;
      }
      if (action === 'held' || action === 'gone' || action === 'release') {
        const hold = heldUploads.get(String(body.chatId));
        if (!hold) {
          ctx.status = 404;
          return;
        }
        if (action === 'held') await hold.arrived;
        else if (action === 'gone') await hold.gone;
        else {
          hold.release();
          heldUploads.delete(String(body.chatId));
        }
        ctx.body = {};
        return;
      }
      if (action === 'seed') {
        const chatId = String(body.chatId);
        const files = (body.files ?? {}) as Record<string, string>;
        for (const [rel, content] of Object.entries(files))
          await api.fixture.write(chatId, rel, await seedBytes(content));
        await api.fixture.recorder.scan(chatId, {
          source: 'execution',
          // One scan is one run of code; a test names its runs to see files grouped by them.
          execution: { kernelId: 'k1', msgId: typeof body.run === 'string' ? body.run : 'm1', owner: null },
        });
        const list: FileListResponse = {
          chatId,
          files: summarizeFiles(await api.fixture.store.listChat(chatId)),
          skipped: [],
        };
        ctx.body = list;
        return;
      }
      ctx.status = 404;
    },
  };
}
