import { existsSync } from 'node:fs';
import path from 'node:path';
import express, { type Router } from 'express';
import { sendJsonError } from '../errors.ts';
import { packageRoot } from '../package-root.ts';
import { isDemoPageRequest } from './demo-page-request.ts';
import { isValidChatId } from '../chats/chat-id.ts';
import { WIDGET_PATH } from '../../contract/files-api.ts';

/**
 * The widget bundle (`/sidecar/widget/generated-files.js`, any origin may load it) and, when
 * enabled, the demo page at `/sidecar/demo/` with the settings it needs.
 */
export function createStaticRoutes(options: {
  demo: boolean;
  demoConfig?: () => Record<string, unknown>;
  /** A files-API token for one chat, for the demo page; null when the API needs none (no secret). */
  demoChatToken?: (chatId: string) => Promise<string | null>;
}): Router {
  const router = express.Router();
  const root = packageRoot();
  const widgetDir = path.join(root, 'dist', 'widget');
  router.use(
    path.posix.dirname(WIDGET_PATH),
    (req, res, next) => {
      res.set('Access-Control-Allow-Origin', '*');
      res.set('Cross-Origin-Resource-Policy', 'cross-origin');
      if (!existsSync(widgetDir)) {
        return sendJsonError(res, {
          code: 'ERR_WIDGET_NOT_BUILT',
          message: 'The widget bundle is not built: run `npm run build:widget`.',
          jupyter: true,
        });
      }
      next();
    },
    express.static(widgetDir, { fallthrough: false, maxAge: '5m' }),
  );

  if (options.demo) {
    // Both hold secrets (the gateway's token, a chat's files token): only the demo page itself may read them.
    router.get(['/sidecar/demo/config.json', '/sidecar/demo/token.json'], (req, res, next) => {
      res.set('Cache-Control', 'no-store');
      res.vary('Sec-Fetch-Site').vary('Referer');
      if (isDemoPageRequest(req)) return next();
      sendJsonError(res, {
        code: 'ERR_DEMO_CONFIG_FORBIDDEN',
        message: "Only the demo page of this origin may read its settings (they hold the gateway's token).",
        jupyter: true,
      });
    });
    router.get('/sidecar/demo/config.json', (_req, res) => {
      res.json(options.demoConfig?.() ?? {});
    });
    // With FILES_API_SECRET set, the demo gets its chat's token here, as a chat app's server would mint it.
    router.get('/sidecar/demo/token.json', async (req, res) => {
      const chat = req.query.chat;
      if (typeof chat !== 'string' || !isValidChatId(chat)) {
        return sendJsonError(res, { code: 'ERR_INVALID_CHAT_ID', message: '?chat= must be a chat id.', jupyter: true });
      }
      res.json({ token: (await options.demoChatToken?.(chat)) ?? null });
    });
    router.use('/sidecar/demo', express.static(path.join(root, 'demo'), { fallthrough: false }));
  }
  return router;
}
