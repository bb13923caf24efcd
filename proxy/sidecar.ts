import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type ErrorRequestHandler, type Router } from 'express';
import { API_PREFIX } from './api/files-api-types.ts';
import { createFilesApi } from './api/files-routes.ts';
import { createStaticRoutes } from './api/static-routes.ts';
import { ArtifactRecorder } from './artifacts/artifact-recorder.ts';
import { BlobStore } from './artifacts/blob-store.ts';
import type { ExecutionObserver } from './artifacts/file-record.ts';
import { LowdbRecordStore } from './artifacts/lowdb-record-store.ts';
import type { RecordStore } from './artifacts/record-store.ts';
import { Retention } from './artifacts/retention.ts';
import { createTrackingPolicy } from './artifacts/tracking-policy.ts';
import { ChatAssignment, ChatAssignmentError } from './chats/chat-assignment.ts';
import { InvalidChatIdError } from './chats/chat-id.ts';
import { splitChatPrefix } from './chats/chat-request.ts';
import { KernelChats } from './chats/kernel-chats.ts';
import { Workspaces } from './chats/workspaces.ts';
import { createKernelCreateProxy, createRestPassthrough } from './gateway/gateway-proxy.ts';
import { sendJsonError } from './gateway/gateway-errors.ts';
import { createKernelChannelsUpgrade } from './gateway/kernel-channels.ts';
import { prepareKernelCreate, rememberCreatedKernel } from './gateway/kernel-create.ts';
import { describeError, quietLogger, type Logger } from './logger.ts';
import type { SidecarOptions } from './options.ts';

export interface SidecarParts {
  logger?: Logger;
  /** Told when each execution starts and ends; the file recorder by default. */
  observer?: ExecutionObserver;
  /** More routes of the sidecar's own, mounted before the gateway passthrough. */
  routes?: Router[];
  /** What the demo page is told (the local gateway's token); only with options.demo. */
  demoConfig?: () => Record<string, unknown>;
}

export interface Sidecar {
  app: express.Express;
  server: Server;
  workspaces: Workspaces;
  kernelChats: KernelChats;
  store: RecordStore;
  blobs: BlobStore;
  recorder: ArtifactRecorder;
  /** Start listening; resolves with the URL. */
  listen(): Promise<string>;
  close(): Promise<void>;
  connections(): number;
}

const KERNEL_DELETE = /api\/kernels\/([^/?]+)\/?(?:\?|$)/;

/** The Express app and the upgrade handler, wired: the sidecar minus its start-up. */
export async function createSidecar(options: SidecarOptions, parts: SidecarParts = {}): Promise<Sidecar> {
  const logger = parts.logger ?? quietLogger;
  const workspaces = new Workspaces(options.workspaceRoot, options.kernelWorkspaceRoot);
  await workspaces.realRoot();
  const kernelChats = await KernelChats.open(options.dataDir);
  const assignment = new ChatAssignment(kernelChats, options.anonymousChat);
  const store = new LowdbRecordStore(options.dataDir);
  const blobs = new BlobStore(options.dataDir);
  const recorder = new ArtifactRecorder({
    store,
    blobs,
    workspaces,
    logger,
    watch: options.watchWorkspaces && { auditIntervalMs: options.workspaceAuditMs },
    policy: createTrackingPolicy({
      extensions: options.trackExtensions?.includes('*') ? '*' : (options.trackExtensions ?? undefined),
      maxFileBytes: options.maxFileBytes ?? undefined,
      quotaBytes: options.chatQuotaBytes ?? undefined,
    }),
  });
  const retention = new Retention({ store, blobs, recorder, workspaces, logger }, { workspaceMaxAgeDays: options.workspaceMaxAgeDays });
  const gatewayHealth = async (): Promise<'up' | 'down'> => {
    try {
      const res = await fetch(new URL('api', options.gatewayUrl), { signal: AbortSignal.timeout(2000) });
      return res.ok ? 'up' : 'down';
    } catch {
      return 'down';
    }
  };
  const base = options.gatewayUrl.pathname;
  const gatewayOptions = {
    gateway: options.gatewayUrl,
    timeoutMs: options.gatewayTimeoutMs,
    logger,
  };

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  // /chats/{chatId}/... is a gateway base URL for clients that can only set a URL.
  app.use((req, res, next) => {
    if (!req.url.startsWith('/chats/')) return next();
    const prefix = splitChatPrefix(req.url);
    if (!prefix) return next();
    res.locals.chatPrefix = prefix.prefix;
    res.locals.chatId = prefix.chatId;
    req.url = prefix.rest;
    next();
  });

  app.use(
    API_PREFIX,
    createFilesApi({
      store,
      blobs,
      recorder,
      workspaces,
      logger,
      auth: { secret: options.filesSecret },
      corsOrigins: options.corsOrigins,
      uploadLimitBytes: options.uploadMaxBytes ?? undefined,
      gatewayHealth,
    }),
  );
  app.use(createStaticRoutes({ demo: options.demo, demoConfig: parts.demoConfig }));
  for (const router of parts.routes ?? []) app.use(router);

  const createDeps = {
    assignment,
    kernelChats,
    workspaces,
    gatewayRootDir: options.gatewayRootDir,
    onChatOwner: (chatId: string, owner: string) => store.setOwner(chatId, owner),
  };
  app.post(
    `${base}api/kernels`,
    express.raw({ type: () => true, limit: '1mb' }),
    prepareKernelCreate(createDeps),
    createKernelCreateProxy(gatewayOptions, rememberCreatedKernel(createDeps)),
  );

  const passthrough = createRestPassthrough({
    ...gatewayOptions,
    onResponse(proxyRes, req) {
      // A deleted kernel is forgotten (Open WebUI makes and deletes one per run).
      if (req.method === 'DELETE' && proxyRes.statusCode === 204) {
        const id = KERNEL_DELETE.exec(req.url.slice(base.length - 1))?.[1];
        if (id) kernelChats.delete(decodeURIComponent(id)).catch((e) => logger.warn(`[sidecar] forgetting kernel: ${describeError(e)}`));
      }
    },
  });
  app.use(passthrough);

  const onError: ErrorRequestHandler = (error, _req, res, _next) => {
    if (error instanceof InvalidChatIdError || error instanceof ChatAssignmentError) {
      return sendJsonError(res, error.status, error.code, error.message);
    }
    const status = typeof error?.status === 'number' && error.status >= 400 && error.status < 500 ? error.status : 500;
    if (status === 500) logger.error(`[sidecar] ${describeError(error)}`);
    sendJsonError(res, status, status === 413 ? 'ERR_BODY_TOO_LARGE' : status === 500 ? 'ERR_INTERNAL' : 'ERR_BAD_REQUEST', status === 500 ? 'Internal sidecar error.' : String(error.message));
  };
  app.use(onError);

  const channels = createKernelChannelsUpgrade({
    gateway: options.gatewayUrl,
    assignment,
    workspaces,
    observer: parts.observer ?? recorder,
    logger,
    executionTimeoutMs: options.executionTimeoutMs,
    recordWaitMs: options.recordWaitMs,
    handshakeTimeoutMs: options.gatewayTimeoutMs,
    passthrough: (req, socket, head) => passthrough.upgrade(req, socket as never, head),
  });

  const server = createServer(app);
  server.on('upgrade', (req, socket, head) => {
    channels.handleUpgrade(req, socket, head).catch((error) => {
      logger.error(`[sidecar] upgrade failed: ${describeError(error)}`);
      socket.destroy();
    });
  });

  retention.start();

  return {
    app,
    server,
    workspaces,
    kernelChats,
    store,
    blobs,
    recorder,
    connections: channels.connections,
    listen() {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(options.port, options.host, () => {
          const { port } = server.address() as AddressInfo;
          resolve(`http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}/`);
        });
      });
    },
    async close() {
      retention.stop();
      channels.close();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      // Event streams and downloads in progress get a moment to finish, then are cut.
      setTimeout(() => server.closeAllConnections(), 2000).unref();
      await closed;
      await recorder.close();
      await store.close();
    },
  };
}
