import type { Request, Response, Router } from 'express';
import type { ArtifactRecorder } from '../artifacts/artifact-recorder.ts';
import type { BlobStore } from '../storage/blob-store.ts';
import type { FileRecord } from '../storage/file-record.ts';
import type { RecordStore } from '../storage/record-store.ts';
import { recordOf } from './chat-record.ts';
import { PreviewError } from '../previews/preview-errors.ts';
import type { PreviewService } from '../previews/preview-service.ts';
import { contentDisposition } from './content-disposition.ts';
import { downloadUrlFor, summarizePath } from './file-summary.ts';
import { ApiError, sendError } from './http-errors.ts';
import { previewFramePath } from '../../contract/files-api.ts';

export interface PreviewRoutesDeps {
  store: RecordStore;
  blobs: BlobStore;
  recorder: ArtifactRecorder;
  previews: PreviewService;
  /** The files API's own check: the chat id, once the caller may see that chat. */
  authorizedChat: (req: Request, res: Response) => Promise<string>;
}

/**
 * HTML the code wrote, for an `<iframe sandbox>`: the CSP sandbox (no allow-scripts) keeps its
 * script from running even when the URL is opened directly on the sidecar's origin, and
 * `default-src 'none'` keeps it from fetching anything (inline styles and data: images only).
 */
const FRAME_CSP =
  "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:; form-action 'none'; base-uri 'none'";

/** Preview, diff and restore of one recorded version, added to the files API router. */
export function addPreviewRoutes(router: Router, deps: PreviewRoutesDeps): void {
  const { store, blobs, recorder, previews, authorizedChat } = deps;

  const sendJsonText = (res: Response, text: string) =>
    res.status(200).type('application/json').set('Cache-Control', 'private, no-cache').send(text);

  /** A refusal is an answer (413/422/503 with its reason), not an error to log. */
  const refuse = (res: Response, error: unknown): void => {
    if (!(error instanceof PreviewError)) throw error;
    if (error.code === 'ERR_PREVIEW_BUSY') res.set('Retry-After', '2');
    sendError(res, { code: error.code, message: error.message });
  };

  router.get('/chats/:chatId/files/:fileId/preview', async (req, res) => {
    const chatId = await authorizedChat(req, res);
    const record = await recordOf(store, chatId, req.params.fileId);
    try {
      sendJsonText(
        res,
        await previews.preview(record, {
          content: `${downloadUrlFor(record)}?disposition=inline`,
          frame: previewFramePath(record.chatId, record.id),
        }),
      );
    } catch (error) {
      refuse(res, error);
    }
  });

  router.get('/chats/:chatId/files/:fileId/preview/frame', async (req, res) => {
    const chatId = await authorizedChat(req, res);
    const record = await recordOf(store, chatId, req.params.fileId);
    if (previews.kindOf(record).render !== 'frame') {
      return sendError(res, { code: 'ERR_PREVIEW_UNSUPPORTED', message: 'Only HTML files are shown in a frame.' });
    }
    if (record.size > previews.limits.maxBytes) {
      return sendError(res, {
        code: 'ERR_PREVIEW_TOO_LARGE',
        message: `Previews are limited to ${previews.limits.maxBytes} bytes.`,
      });
    }
    const stream = await blobs.open(record.sha256);
    res.setHeader('Content-Type', 'text/html; charset=utf-8');
    res.set({
      'Content-Security-Policy': FRAME_CSP,
      'X-Content-Type-Options': 'nosniff',
      'Content-Disposition': contentDisposition(record.name, 'inline'),
      // The token may be in this URL's query: nothing the page links to may learn it.
      'Referrer-Policy': 'no-referrer',
      'Cache-Control': 'private, no-cache',
      'Content-Length': String(record.size),
    });
    stream.on('error', () => res.destroy());
    res.on('close', () => stream.destroy());
    // Gone already, during the awaits above: 'close' will not come again, and a pipe into the
    // closed response would wait for a 'drain' that never comes, holding the blob's fd.
    if (res.destroyed) return void stream.destroy();
    stream.pipe(res);
  });

  router.get('/chats/:chatId/files/:fileId/diff', async (req, res) => {
    const chatId = await authorizedChat(req, res);
    const to = await recordOf(store, chatId, req.params.fileId);
    const fromId = typeof req.query.from === 'string' ? req.query.from : undefined;
    if (!fromId) throw new ApiError('ERR_BAD_REQUEST', 'Say which version to compare with: ?from={versionId}.');
    const from = await recordOf(store, chatId, fromId);
    if (from.path !== to.path) throw new ApiError('ERR_BAD_REQUEST', 'Both versions must be of the same file.');
    try {
      sendJsonText(res, await previews.diff(from, to));
    } catch (error) {
      refuse(res, error);
    }
  });

  router.post('/chats/:chatId/files/:fileId/restore', async (req, res) => {
    const chatId = await authorizedChat(req, res);
    const record = await recordOf(store, chatId, req.params.fileId);
    const access = res.locals.access!;
    const before = summarizePath(await store.listChat(chatId), record.path);
    // The upload path: blob first, then the workspace through a temp file and rename, recorded.
    const bytes = await blobs.open(record.sha256);
    let restored: FileRecord;
    try {
      restored = await recorder.recordUpload(chatId, record.path, bytes, access.kind === 'user' ? access.sub : null, {
        maxBytes: record.size,
        source: 'restore',
      });
    } finally {
      // A restore refused before its bytes were read (a name a scan records but an upload refuses)
      // would otherwise keep the blob's fd open for good.
      bytes.destroy();
    }
    res.status(restored.id === before?.id ? 200 : 201).json(summarizePath(await store.listChat(chatId), restored.path));
  });
}
