// @ts-check
/**
 * A scriptable stand-in for the sidecar's files API, as @web/test-runner
 * middleware, for what the real API (real-files-api.ts) cannot be made to do on
 * cue: fail a list, refuse or drop a stream, hold a response. It answers as the
 * sidecar does: the labels and MIME types of its summaries come from the
 * sidecar's own functions, its errors carry the sidecar's codes and body, and
 * its stream sends the sidecar's headers and preamble.
 *
 * Tests drive it over /__fixtures/{chatId}/...:
 *   POST setup  {files, skipped, contents, listStatus, eventsStatus, tokens, answers}
 *               answers: {'preview/ID' | 'diff/ID' | 'restore/ID': {status?, body}}: the sidecar's JSON for those routes
 *   POST patch  (same fields, merged)
 *   POST emit   {event, data}    -> written to every open stream of the chat
 *   POST drop                    -> ends every open stream of the chat
 *   GET  log                     -> the API requests seen, with their credentials
 *   GET  clients                 -> how many streams are open
 *   GET  clients?equals=N        -> answers when exactly N streams are open (a signal, not a poll)
 */

import { API_PREFIX } from '../../../contract/files-api.ts';
import { formatLabel, mimeTypeOf } from '../../../proxy/workspace/format-label.ts';

const API = `${API_PREFIX}/chats/`;

/** The sidecar derives these from the name; so does the stand-in, whatever a test wrote. */
const asSidecarSends = (/** @type {any} */ file) => ({
  ...file,
  format: formatLabel(file.name),
  mimeType: mimeTypeOf(file.name),
});
const CONTROL = '/__fixtures/';

/** @typedef {{ files: any[], skipped: any[], answers: Record<string, { status?: number, body: any }>, contents: Record<string, string>, listStatus: number, eventsStatus: number, tokens: string[] | null, streams: Set<import('node:http').ServerResponse>, watchers: Set<() => void>, log: { path: string, authorization: string | null, token: string | null }[] }} Chat */

export function filesApiFixtures() {
  /** @type {Map<string, Chat>} */
  const chats = new Map();

  /** @param {string} id */
  const chat = (id) => {
    let c = chats.get(id);
    if (!c) {
      c = {
        files: [],
        skipped: [],
        answers: {},
        contents: {},
        listStatus: 200,
        eventsStatus: 200,
        tokens: null,
        streams: new Set(),
        watchers: new Set(),
        log: [],
      };
      chats.set(id, c);
    }
    return c;
  };

  /** @param {import('koa').Context} ctx @param {number} status @param {string} code @param {string} message */
  const fail = (ctx, status, code, message) => {
    ctx.status = status;
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { error: { code, message } };
  };

  /** The code and message the sidecar sends with this status (http-errors.ts). @param {import('koa').Context} ctx @param {number} status */
  const failAs = (ctx, status) =>
    status === 404
      ? fail(ctx, 404, 'ERR_CHAT_NOT_FOUND', 'No such chat.')
      : status === 401
        ? fail(ctx, 401, 'ERR_UNAUTHORIZED', 'The token is not valid.')
        : fail(ctx, status, 'ERR_INTERNAL', 'Internal sidecar error.');

  /** Tells the tests waiting on a stream count to look again. @param {Chat} c */
  const streamsChanged = (c) => {
    for (const check of [...c.watchers]) check();
  };

  /** @param {import('koa').Context} ctx */
  const readJson = async (ctx) => {
    let text = '';
    for await (const chunk of ctx.req) text += chunk;
    return text ? JSON.parse(text) : {};
  };

  /** @type {import('koa').Middleware} */
  return async (ctx, next) => {
    const url = new URL(ctx.url, 'http://fixture');

    if (url.pathname.startsWith(CONTROL)) {
      const [id = '', action = ''] = url.pathname.slice(CONTROL.length).split('/').map(decodeURIComponent);
      if (action === 'setup') {
        for (const s of chat(id).streams) s.end();
        chats.delete(id);
      }
      const c = chat(id);
      switch (action) {
        case 'setup':
        case 'patch': {
          const { files, skipped, contents, listStatus, eventsStatus, tokens, answers } = await readJson(ctx);
          if (answers) c.answers = { ...c.answers, ...answers };
          if (files) c.files = files.map(asSidecarSends);
          if (skipped) c.skipped = skipped;
          if (contents) c.contents = { ...c.contents, ...contents };
          if (listStatus) c.listStatus = listStatus;
          if (eventsStatus) c.eventsStatus = eventsStatus;
          if (tokens !== undefined) c.tokens = tokens;
          ctx.body = { ok: true };
          return;
        }
        case 'emit': {
          const { event, data: raw } = await readJson(ctx);
          const data = event === 'file' ? asSidecarSends(raw) : raw;
          if (event === 'file') c.files = [data, ...c.files.filter((f) => f.path !== data.path)];
          for (const s of c.streams) s.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
          ctx.body = { clients: c.streams.size };
          return;
        }
        case 'drop':
          for (const s of c.streams) s.end();
          c.streams.clear();
          streamsChanged(c);
          ctx.body = { ok: true };
          return;
        case 'log':
          ctx.body = c.log;
          return;
        case 'clients': {
          const equals = url.searchParams.get('equals');
          if (equals !== null) {
            // Held until the count is reached; the test's own timeout bounds a failure.
            await new Promise((/** @type {(v?: unknown) => void} */ resolve) => {
              const check = () => {
                if (c.streams.size !== Number(equals)) return;
                c.watchers.delete(check);
                resolve();
              };
              c.watchers.add(check);
              check();
            });
          }
          ctx.body = { clients: c.streams.size };
          return;
        }
      }
      ctx.status = 404;
      return;
    }

    if (!url.pathname.startsWith(API)) return next();
    const [id = '', route = '', fileId = '', tail = '', sub = ''] = url.pathname
      .slice(API.length)
      .split('/')
      .map(decodeURIComponent);
    const c = chat(id);
    const authorization = ctx.get('authorization') || null;
    const queryToken = url.searchParams.get('token');
    c.log.push({
      path:
        url.pathname.slice(API.length + id.length) +
        (url.searchParams.has('disposition') ? `?disposition=${url.searchParams.get('disposition')}` : ''),
      authorization,
      token: queryToken,
    });

    if (c.tokens) {
      const given = authorization?.replace(/^Bearer /, '') ?? queryToken;
      if (!given || !c.tokens.includes(given)) {
        ctx.set('WWW-Authenticate', 'Bearer');
        return fail(ctx, 401, 'ERR_UNAUTHORIZED', 'The token is not valid.');
      }
    }

    if (route === 'files' && !fileId) {
      if (c.listStatus !== 200) return failAs(ctx, c.listStatus);
      ctx.body = { chatId: id, files: c.files, skipped: c.skipped };
      return;
    }

    if (route === 'events') {
      if (c.eventsStatus !== 200) return failAs(ctx, c.eventsStatus);
      ctx.respond = false;
      const res = ctx.res;
      // As proxy/api/file-events-stream.ts sends them.
      res.writeHead(200, {
        'Content-Type': 'text/event-stream; charset=utf-8',
        'Cache-Control': 'no-cache, no-transform',
        Connection: 'keep-alive',
        'X-Accel-Buffering': 'no',
      });
      res.write('retry: 5000\n: connected\n\n');
      c.streams.add(res);
      streamsChanged(c);
      res.on('close', () => {
        c.streams.delete(res);
        streamsChanged(c);
      });
      return;
    }

    if (route === 'files' && tail === 'preview' && sub === 'frame') {
      // As the sidecar serves it: a CSP sandbox that allows no script.
      ctx.set('Content-Security-Policy', "sandbox; default-src 'none'");
      ctx.type = 'text/html';
      ctx.body = c.contents[fileId] ?? '';
      return;
    }

    if (route === 'files' && (tail === 'preview' || tail === 'diff' || tail === 'restore')) {
      const answer = c.answers[`${tail}/${fileId}`];
      if (!answer) return fail(ctx, 404, 'ERR_NOT_FOUND', 'No such route.');
      ctx.status = answer.status ?? 200;
      ctx.body = answer.body;
      return;
    }

    if (route === 'files' && tail === 'content') {
      const all = c.files.flatMap((f) => [f, ...(f.versions ?? [])]);
      const file = all.find((f) => f.id === fileId);
      if (!file) return fail(ctx, 404, 'ERR_FILE_NOT_FOUND', 'No such file in this chat.');
      const owner = c.files.find((f) => f.id === fileId || f.versions?.some((v) => v.id === fileId));
      ctx.set('Content-Type', owner?.mimeType ?? 'application/octet-stream');
      const inline = url.searchParams.get('disposition') === 'inline';
      // The element names the download itself; non-ASCII names go in filename* as the sidecar does.
      ctx.set(
        'Content-Disposition',
        `${inline ? 'inline' : 'attachment'}; filename*=UTF-8''${encodeURIComponent(owner?.name ?? 'file')}`,
      );
      ctx.set('Cache-Control', 'private, no-cache');
      ctx.set('Accept-Ranges', 'bytes');
      const content = c.contents[fileId] ?? `content of ${fileId}`;
      ctx.body = content.startsWith('base64:') ? Buffer.from(content.slice(7), 'base64') : content;
      return;
    }

    if (route === 'archive.zip') {
      ctx.set('Content-Type', 'application/zip');
      ctx.body = Buffer.from('PK\u0005\u0006fixture-zip');
      return;
    }

    return fail(ctx, 404, 'ERR_NOT_FOUND', 'No such route.');
  };
}
