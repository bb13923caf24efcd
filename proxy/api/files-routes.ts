import { stat } from 'node:fs/promises';
import { PassThrough } from 'node:stream';
import express, { type Request, type Response, type Router } from 'express';
import type { ArtifactRecorder } from '../artifacts/artifact-recorder.ts';
import type { BlobStore } from '../storage/blob-store.ts';
import { latestByPath, type RecordStore } from '../storage/record-store.ts';
import { assertChatId } from '../chats/chat-id.ts';
import type { Workspaces } from '../chats/workspaces.ts';
import { quietLogger, type Logger } from '../logger.ts';
import { sendArchive } from './archive-zip.ts';
import { recordOf } from './chat-record.ts';
import { secretKey } from '../links/link-token.ts';
import { createAuthenticate, type AuthOptions } from './auth.ts';
import { createCors, tokenRoutesFromAnyOrigin } from './cors.ts';
import { createFileSystemProbe, type FileSystemHealth } from './file-system-probe.ts';
import { sendFileContent } from './file-content.ts';
import { streamFileEvents } from './file-events-stream.ts';
import { summarizeFiles, summarizePath } from './file-summary.ts';
import {
  ARCHIVE_LINK_ID,
  filesApiPaths,
  type FileLinkResponse,
  type FileListResponse,
} from '../../contract/files-api.ts';
import { addPreviewRoutes } from './preview-routes.ts';
import type { PreviewService } from '../previews/preview-service.ts';
import { signFileLinkToken } from '../links/link-token.ts';
import type { WebhookHealth } from '../webhooks/webhook-dispatcher.ts';
import { ApiError, chatNotFound, notFoundHandler } from './http-errors.ts';
import { createErrorHandler, errorCode, sendErrorFor, statusForCode } from '../errors.ts';

export interface FilesApiDeps {
  store: RecordStore;
  blobs: BlobStore;
  recorder: ArtifactRecorder;
  workspaces: Workspaces;
  auth?: AuthOptions;
  logger?: Logger;
  /** Origins allowed to call the API from a browser; `['*']` for any; none by default. */
  corsOrigins?: readonly string[];
  /** The `/chats/...` routes answer any origin (tokens required there; the MCP App is served). */
  tokenRoutesFromAnyOrigin?: boolean;
  /** Largest upload in bytes (--upload-max-mb). */
  uploadLimitBytes: number;
  /** Reported by GET /health; 'unknown' when not given. */
  gatewayHealth?: () => Promise<'up' | 'down'>;
  /** Reported by GET /health when webhooks are on: pending and failed deliveries. */
  webhookHealth?: () => Promise<WebhookHealth>;
  /** Reported by GET /health as `database`: 'none' without one. */
  storeHealth?: () => Promise<'up' | 'down' | 'none'>;
  /** Reported by GET /health as `fs`; 'stuck' answers 503. Probes the blob store's folder by default. */
  fileSystemHealth?: () => Promise<FileSystemHealth>;
  /** True once the sidecar is shutting down: readiness answers 503. */
  closing?: () => boolean;
  /** SSE heartbeat period (default 15 s). */
  sseHeartbeatMs?: number;
  /** How long a download link's token lives, in seconds (default 120): long enough for a save dialog. */
  downloadLinkTtlSeconds?: number;
  /** Previews and diffs (their limits and cache folder come from the options). */
  previews: PreviewService;
  /** --revocation-skew-s: a revocation refuses links stamped up to this long after it (default 0). */
  revocationSkewMs?: number;
  /** The clock links are stamped and revoked by (tests: a sidecar whose clock is off). */
  now?: () => number;
}

const DEFAULT_DOWNLOAD_LINK_TTL_SECONDS = 120;

/**
 * The files API, an Express router the sidecar mounts at API_PREFIX (`/sidecar/v1`):
 * health, file list, content, zip archive, events and uploads for one chat.
 */
export function createFilesApi(deps: FilesApiDeps): Router {
  const { store, blobs, recorder, workspaces } = deps;
  const logger = deps.logger ?? quietLogger;
  const { uploadLimitBytes: uploadLimit, previews } = deps;
  const now = deps.now ?? Date.now;
  const revocationSkewMs = deps.revocationSkewMs ?? 0;
  const authenticate = createAuthenticate(deps.auth ?? {});
  const router = express.Router();
  if (deps.tokenRoutesFromAnyOrigin) router.use(tokenRoutesFromAnyOrigin);
  router.use(createCors(deps.corsOrigins ?? []));

  const fileSystemHealth = deps.fileSystemHealth ?? createFileSystemProbe(blobs.dir);
  const probeParts = () =>
    Promise.all([
      deps.gatewayHealth ? deps.gatewayHealth().catch(() => 'down' as const) : ('unknown' as const),
      fileSystemHealth(),
      deps.storeHealth ? deps.storeHealth().catch(() => 'down' as const) : ('none' as const),
    ]);

  router.get('/health', async (_req, res) => {
    const [gateway, fs, database] = await probeParts();
    // Counted in the store: left out while the database is down.
    const webhooks = deps.webhookHealth && database !== 'down' ? await deps.webhookHealth().catch(() => null) : null;
    // A stuck pool means downloads, lists and uploads hang: not healthy, whatever the gateway says.
    // A database that is down leaves kernel traffic flowing while the files API answers 503.
    res
      .status(fs === 'stuck' ? 503 : 200)
      .set('Cache-Control', 'no-store')
      .json({
        status: fs === 'stuck' || database === 'down' ? 'degraded' : 'ok',
        gateway,
        fs,
        database,
        ...(webhooks ? { webhooks } : {}),
      });
  });

  // Liveness: the process answers. Nothing it depends on is asked, so a gateway or database that
  // is away never gets a healthy sidecar restarted.
  router.get('/health/live', (_req, res) => {
    res.set('Cache-Control', 'no-store').json({ status: 'ok' });
  });

  // Readiness: send it traffic only when the gateway, the file system and the store (as /health
  // knows them) all work, and it is not shutting down.
  router.get('/health/ready', async (_req, res) => {
    const [gateway, fs, database] = await probeParts();
    const closing = deps.closing?.() ?? false;
    const ready = !closing && gateway !== 'down' && fs === 'ok' && database !== 'down';
    res
      .status(ready ? 200 : 503)
      .set('Cache-Control', 'no-store')
      .json({ status: closing ? 'closing' : ready ? 'ready' : 'not-ready', gateway, fs, database });
  });

  router.use('/chats', authenticate);

  const workspaceExists = async (chatId: string) =>
    stat(workspaces.pathFor(chatId)).then(
      (s) => s.isDirectory(),
      () => false,
    );

  /**
   * The chat id from the URL, once the caller may see it. Another chat, a chat the user does
   * not own and an unknown chat all get the same 404: nothing tells them apart.
   */
  async function authorizedChat(
    req: Request,
    res: Response,
    options: { mayCreate?: boolean; linkFor?: string; mintsLink?: boolean } = {},
  ): Promise<string> {
    const chatId = assertChatId(req.params.chatId);
    const access = res.locals.access!;
    if ((access.kind === 'chat' || access.kind === 'view' || access.kind === 'file') && access.chatId !== chatId)
      throw chatNotFound();
    // A view token reads: GET and HEAD, and a download link (POST .../link). Any other route,
    // including one added later, refuses it.
    if (access.kind === 'view' && !(req.method === 'GET' || req.method === 'HEAD' || options.mintsLink))
      throw new ApiError('ERR_TOKEN_SCOPE', "A view token reads this chat's files; it changes nothing.");
    if (access.kind === 'file') {
      // A link's token opens the one download it was minted for; it lists, streams and uploads nothing.
      if (options.linkFor === undefined || access.fileId !== options.linkFor) {
        throw new ApiError('ERR_TOKEN_SCOPE', "A link's token opens its one file version, nothing else.");
      }
      // Stamped by whichever sidecar minted it, by its clock: one ahead of the revoking sidecar's
      // would stamp a link minted just before the revocation as after it. So a revocation also
      // refuses links stamped within the clocks' allowed skew after it.
      const revokedAt = await store.getLinksRevokedAt(chatId);
      if (revokedAt !== null && access.issuedMs < revokedAt + revocationSkewMs) {
        res.set('WWW-Authenticate', 'Bearer error="invalid_token"');
        throw new ApiError('ERR_UNAUTHORIZED', "This chat's links were revoked after this one was issued.");
      }
    }
    // A user token takes one path whether the chat is unknown or another user's: the owner is
    // looked up either way (an unknown chat has none), so timing does not tell the two apart.
    // A chat with an owner is a known chat, so a match needs no second look.
    if (access.kind === 'user') {
      if ((await store.getOwner(chatId)) !== access.sub) throw chatNotFound();
      return chatId;
    }
    if (!(await store.hasChat(chatId)) && !(await workspaceExists(chatId)) && !options.mayCreate) throw chatNotFound();
    return chatId;
  }

  router.get('/chats/:chatId/files', async (req, res) => {
    const chatId = await authorizedChat(req, res);
    const body: FileListResponse = {
      chatId,
      files: summarizeFiles(await store.listChat(chatId)),
      skipped: await store.listSkipped(chatId),
    };
    res.set('Cache-Control', 'no-store').json(body);
  });

  router.get('/chats/:chatId/files/:fileId/content', async (req, res) => {
    const chatId = await authorizedChat(req, res, { linkFor: req.params.fileId });
    await sendFileContent(req, res, await recordOf(store, chatId, req.params.fileId), blobs);
  });

  /**
   * A plain URL for the browser's download manager, so a big file never passes through the
   * page's memory. With a secret it carries a short-lived token for this one version; an open
   * API needs none, and the content URL itself is the link.
   */
  async function sendLink(res: Response, chatId: string, linkId: string, path: string, size: number): Promise<void> {
    let body: FileLinkResponse = { url: path, expiresAt: null, size };
    if (deps.auth?.secret) {
      const ttl = deps.downloadLinkTtlSeconds ?? DEFAULT_DOWNLOAD_LINK_TTL_SECONDS;
      const issuedMs = now();
      const token = await signFileLinkToken(secretKey(deps.auth.secret), { chatId, fileId: linkId, issuedMs }, ttl);
      body = {
        url: `${path}?token=${encodeURIComponent(token)}`,
        expiresAt: new Date(issuedMs + ttl * 1000).toISOString(),
        size,
      };
    }
    res.set('Cache-Control', 'no-store').json(body);
  }

  router.post('/chats/:chatId/files/:fileId/link', async (req, res) => {
    const chatId = await authorizedChat(req, res, { mintsLink: true });
    const record = await recordOf(store, chatId, req.params.fileId);
    await sendLink(res, chatId, record.id, filesApiPaths.fileContent(chatId, record.id), record.size);
  });

  router.post('/chats/:chatId/archive.zip/link', async (req, res) => {
    const chatId = await authorizedChat(req, res, { mintsLink: true });
    const latest = [...latestByPath(await store.listChat(chatId)).values()];
    await sendLink(
      res,
      chatId,
      ARCHIVE_LINK_ID,
      filesApiPaths.archive(chatId),
      latest.reduce((sum, r) => sum + r.size, 0),
    );
  });

  router.get('/chats/:chatId/archive.zip', async (req, res) => {
    const chatId = await authorizedChat(req, res, { linkFor: ARCHIVE_LINK_ID });
    const latest = [...latestByPath(await store.listChat(chatId)).values()];
    await sendArchive(res, `${chatId}-files.zip`, latest, blobs, logger);
  });

  router.get('/chats/:chatId/events', async (req, res) => {
    const chatId = await authorizedChat(req, res);
    streamFileEvents(req, res, chatId, { events: recorder.events, store, logger, heartbeatMs: deps.sseHeartbeatMs });
  });

  router.post('/chats/:chatId/links/revoke', async (req, res) => {
    const chatId = await authorizedChat(req, res);
    const revokedAt = now();
    await store.revokeLinks(chatId, revokedAt);
    res.set('Cache-Control', 'no-store').json({ chatId, linksRevokedAt: new Date(revokedAt).toISOString() });
  });

  router.put('/chats/:chatId/uploads/*path', async (req, res) => {
    const chatId = await authorizedChat(req, res, { mayCreate: true });
    const segments = (req.params as { path?: string[] | string }).path ?? [];
    const relPath = Array.isArray(segments) ? segments.join('/') : segments;
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > uploadLimit) {
      return rejectUpload(
        req,
        res,
        new ApiError('ERR_UPLOAD_TOO_LARGE', `Uploads are limited to ${uploadLimit} bytes.`),
      );
    }
    // A PassThrough, so stopping early (limit, bad path) does not destroy the request's socket.
    const body = req.pipe(new PassThrough());
    // The store reads the error when it consumes the stream; until it starts (it may wait for the
    // chat's lock) nothing listens, and an abort then must not become an uncaught exception.
    body.on('error', () => {});
    // pipe() does not pass on an abort: without this the store would wait for the rest forever.
    // Not `req.complete`: a body that arrived whole but was not read before the connection
    // closed is thrown away with the request, and its 'end' never comes either.
    const aborted = () => {
      if (!req.readableEnded) body.destroy(new Error('The client aborted the upload.'));
    };
    req.on('close', aborted);
    // Gone already, during the await above: 'close' will not come again.
    if (req.destroyed) aborted();
    const access = res.locals.access!;
    // If-None-Match: * asks to create only (RFC 9110): a client that wants to ask before replacing.
    const createOnly = req.headers['if-none-match']?.trim() === '*';
    try {
      const record = await recorder.recordUpload(chatId, relPath, body, access.kind === 'user' ? access.sub : null, {
        maxBytes: uploadLimit,
        createOnly,
      });
      res.status(201).json(summarizePath(await store.listChat(chatId), record.path));
    } catch (error) {
      // A refusal (errors.ts's table says what the client sees of it) while the body may still be arriving.
      if (statusForCode(errorCode(error) ?? '') < 500) return rejectUpload(req, res, error);
      throw error;
    }
  });

  addPreviewRoutes(router, { store, blobs, recorder, previews, authorizedChat });

  router.use(notFoundHandler);
  router.use(createErrorHandler({ logger, jupyter: false }));
  return router;
}

/** Past this many bytes of a refused upload's body still arriving, the connection is cut instead. */
const REFUSED_BODY_DRAIN_BYTES = 16 * 1024 * 1024;

/**
 * Answers a refused upload whose body may still be arriving. Closing the connection at once
 * resets it under a client that is still sending, and a reset can discard the answer before
 * the client has read it (a browser then reports a network error, not the 413). So the rest is
 * read and dropped, and the connection stays usable; a client sending more than the bound is
 * cut off, by which time it has had the answer for a while.
 */
function rejectUpload(req: Request, res: Response, error: unknown): void {
  req.unpipe();
  if (!req.complete) {
    let left = REFUSED_BODY_DRAIN_BYTES;
    req.on('data', (chunk: Buffer) => {
      left -= chunk.length;
      if (left < 0) req.socket.destroy();
    });
    req.resume();
  }
  sendErrorFor(res, error, { headers: { 'Cache-Control': 'no-store' } });
}
