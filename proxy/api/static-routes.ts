import { existsSync } from 'node:fs';
import path from 'node:path';
import express, { type Router } from 'express';
import { sendJsonError } from '../errors.ts';
import { packageRoot } from '../package-root.ts';
import { isDemoPageRequest } from './demo-page-request.ts';
import { WIDGET_PATH } from '../../contract/files-api.ts';

/**
 * The widget bundle (`/sidecar/widget/generated-files.js`, any origin may load it) and, when
 * enabled, the demo page at `/sidecar/demo/` with the settings it needs.
 */
export function createStaticRoutes(options: { demo: boolean; demoConfig?: () => Record<string, unknown> }): Router {
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
    router.get('/sidecar/demo/config.json', (req, res) => {
      res.set('Cache-Control', 'no-store');
      res.vary('Sec-Fetch-Site').vary('Referer');
      if (!isDemoPageRequest(req)) {
        return sendJsonError(res, {
          code: 'ERR_DEMO_CONFIG_FORBIDDEN',
          message: "Only the demo page of this origin may read its settings (they hold the gateway's token).",
          jupyter: true,
        });
      }
      res.json(options.demoConfig?.() ?? {});
    });
    router.use('/sidecar/demo', express.static(path.join(root, 'demo'), { fallthrough: false }));
  }
  return router;
}
