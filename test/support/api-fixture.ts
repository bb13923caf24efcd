import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import supertest from 'supertest';
import { API_PREFIX } from '../../contract/files-api.ts';
import { createFilesApi, type FilesApiDeps } from '../../proxy/api/files-routes.ts';
import type { TrackingPolicyOptions } from '../../proxy/workspace/tracking-policy.ts';
import type { PreviewLimits } from '../../proxy/previews/preview-limits.ts';
import { PreviewService } from '../../proxy/previews/preview-service.ts';
import { previewCacheDir } from '../../proxy/previews/preview-cache.ts';
import { defaultOf } from '../../proxy/options.ts';
import type { Fixture as RecorderFixture } from './recorder-fixture.ts';

/** The files API's parts as the sidecar builds them from its options (defaults unless given). */
export function filesApiParts(fx: Pick<RecorderFixture, 'blobs' | 'dataDir'>, previewLimits?: Partial<PreviewLimits>) {
  return {
    uploadLimitBytes: defaultOf('uploadMaxBytes'),
    previews: new PreviewService({ blobs: fx.blobs, cacheDir: previewCacheDir(fx.dataDir), limits: previewLimits }),
  };
}
import { createFixture, type Fixture } from './recorder-fixture.ts';

export const SECRET = 'test-secret-0123456789-abcdefghijklmnop';

export interface ApiFixture extends Fixture {
  server: http.Server;
  origin: string;
  request: ReturnType<typeof supertest>;
  close(): Promise<void>;
}

/** The files API on a real server on a free port, over real files in a temp folder. */
export async function startApi(
  options: Partial<
    Pick<
      FilesApiDeps,
      'auth' | 'corsOrigins' | 'tokenRoutesFromAnyOrigin' | 'uploadLimitBytes' | 'sseHeartbeatMs' | 'gatewayHealth'
    >
  > & {
    policy?: TrackingPolicyOptions;
    previewLimits?: Partial<PreviewLimits>;
    /** Runs ahead of the files API's routes (a test holding a request there). */
    beforeRoutes?: express.RequestHandler;
  } = {},
): Promise<ApiFixture> {
  const fx = await createFixture({ policy: options.policy });
  const app = express();
  if (options.beforeRoutes) app.use(options.beforeRoutes);
  app.use(API_PREFIX, createFilesApi({ ...fx, ...filesApiParts(fx, options.previewLimits), ...options }));
  const server = http.createServer(app);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    ...fx,
    server,
    origin: `http://127.0.0.1:${port}`,
    request: supertest(server),
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await fx.cleanup();
    },
  };
}

/** Records `files` (path -> content) in a chat through a real scan. */
export async function seed(api: ApiFixture, chatId: string, files: Record<string, string | Buffer>): Promise<void> {
  for (const [rel, content] of Object.entries(files)) await api.write(chatId, rel, content);
  await api.recorder.scan(chatId, { source: 'execution', execution: { kernelId: 'k1', msgId: 'm1', owner: 'alice' } });
}

export const url = (chatId: string, rest = '') => `${API_PREFIX}/chats/${chatId}${rest}`;
