import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import express, { type ErrorRequestHandler, type Router } from 'express';
import { createHostAllowList, HOST_NOT_ALLOWED } from './allowed-hosts.ts';
import { API_PREFIX } from '../contract/files-api.ts';
import { createFilesApi } from './api/files-routes.ts';
import { createStaticRoutes } from './api/static-routes.ts';
import { ArtifactRecorder } from './artifacts/artifact-recorder.ts';
import type { BlobStore } from './storage/blob-store.ts';
import type { ExecutionObserver } from './executions/execution-observer.ts';
import type { RecordStore } from './storage/record-store.ts';
import { Retention } from './artifacts/retention.ts';
import { createTrackingPolicy } from './workspace/tracking-policy.ts';
import { ChatAssignment, ChatAssignmentError } from './chats/chat-assignment.ts';
import { InvalidChatIdError } from './chats/chat-id.ts';
import { splitChatPrefix } from './chats/chat-request.ts';
import { ChatOwners } from './chats/chat-owners.ts';
import type { KernelChatStore } from './chats/kernel-chats.ts';
import { ProvisionalWorkspaces } from './chats/provisional-workspaces.ts';
import { Workspaces } from './chats/workspaces.ts';
import { createKernelCreateProxy, createRestPassthrough } from './gateway/gateway-proxy.ts';
import { refuseUpgrade, sendJsonError } from './errors.ts';
import { createKernelChannelsUpgrade } from './gateway/kernel-channels.ts';
import { prepareKernelCreate, rememberCreatedKernel } from './gateway/kernel-create.ts';
import { FileLinks, linkBaseFor } from './links/file-links.ts';
import { WebhookDispatcher } from './webhooks/webhook-dispatcher.ts';
import { describeError, quietLogger, type Logger } from './logger.ts';
import type { SidecarOptions } from './options.ts';
import { PreviewService } from './previews/preview-service.ts';
import { openStores, type StoreBackend } from './storage/open-stores.ts';

export interface SidecarParts {
  logger?: Logger;
  /** Told when each execution starts and ends; the file recorder by default. */
  observer?: ExecutionObserver;
  /** More routes of the sidecar's own, mounted before the gateway passthrough. */
  routes?: Router[];
  /** What the demo page is told (the local gateway's token); only with options.demo. */
  demoConfig?: () => Record<string, unknown>;
  /** Webhook retry delays (tests shorten them); 1 s doubling to 5 min by default. */
  webhookBackoff?: { minMs: number; maxMs: number };
}

export interface Sidecar {
  app: express.Express;
  server: Server;
  workspaces: Workspaces;
  kernelChats: KernelChatStore;
  store: RecordStore;
  backend: StoreBackend;
  blobs: BlobStore;
  recorder: ArtifactRecorder;
  /** Present with --webhook-url. */
  webhooks: WebhookDispatcher | null;
  /** Start listening; resolves with the URL. */
  listen(): Promise<string>;
  close(): Promise<void>;
  connections(): number;
}

const ONE_KERNEL = /api\/kernels\/([^/?]+)\/?(?:\?|$)/;

/** The Express app and the upgrade handler, wired: the sidecar minus its start-up. */
export async function createSidecar(options: SidecarOptions, parts: SidecarParts = {}): Promise<Sidecar> {
  const logger = parts.logger ?? quietLogger;
  const workspaces = new Workspaces(options.workspaceRoot, options.kernelWorkspaceRoot);
  await workspaces.realRoot();
  const stores = await openStores(options, logger);
  const { store, blobs, kernelChats } = stores;
  const assignment = new ChatAssignment(kernelChats, options.anonymousChat);
  const links = new FileLinks({ secret: options.filesSecret, ttlSeconds: options.linkTtlSeconds });
  // Assigned once the server exists; only called after listen().
  let listeningBase = (): URL => new URL(`http://${options.host}:${options.port}/`);
  const webhooks =
    options.webhookUrl && options.webhookSecret
      ? new WebhookDispatcher({
          url: options.webhookUrl,
          secret: options.webhookSecret,
          store,
          links,
          linkBase: () => options.publicUrl ?? listeningBase(),
          maxAgeMs: options.webhookMaxAgeMs,
          backoff: parts.webhookBackoff,
          logger,
        })
      : null;
  const recorder = new ArtifactRecorder({
    store,
    blobs,
    events: stores.events,
    workspaces,
    logger,
    outbox: webhooks ?? undefined,
    watch: options.watchWorkspaces && { auditIntervalMs: options.workspaceAuditMs },
    policy: createTrackingPolicy({
      extensions: options.trackExtensions?.includes('*') ? '*' : (options.trackExtensions ?? undefined),
      maxFileBytes: options.maxFileBytes ?? undefined,
      quotaBytes: options.chatQuotaBytes ?? undefined,
      allowHardLinks: options.allowHardLinks,
    }),
    scanTimeoutMs: options.scanTimeoutMs,
  });
  const retention = new Retention(
    { store, blobs, recorder, workspaces, logger, exclusive: stores.exclusive },
    { workspaceMaxAgeDays: options.workspaceMaxAgeDays },
  );
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

  // The address we listen on is configured too (unless it is a wildcard): clients may use it.
  const listenHost = ['0.0.0.0', '::', ''].includes(options.host)
    ? []
    : [options.host.includes(':') ? `[${options.host}]` : options.host];
  const hosts = createHostAllowList({
    publicUrl: options.publicUrl,
    allowedHosts: [...options.allowedHosts, ...listenHost],
  });

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  // Before any route: a Host we were not configured for is a DNS-rebinding page or a mistake.
  app.use((req, res, next) => {
    if (hosts.allows(req.headers.host)) return next();
    sendJsonError(res, { ...HOST_NOT_ALLOWED, jupyter: true });
  });

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
      auth: { secret: options.filesSecret, maxLifetimeS: options.tokenMaxLifetimeS },
      corsOrigins: options.corsOrigins,
      uploadLimitBytes: options.uploadMaxBytes ?? undefined,
      gatewayHealth,
      previews: new PreviewService({
        blobs,
        cacheDir: path.join(options.dataDir, 'previews'),
        // Only the limits that were set: the rest keep their defaults.
        limits: Object.fromEntries(Object.entries(options.previews).filter(([, v]) => v !== null)),
      }),
      webhookHealth: webhooks ? () => webhooks.health() : undefined,
      storeHealth: stores.health,
    }),
  );
  app.use(createStaticRoutes({ demo: options.demo, demoConfig: parts.demoConfig }));
  for (const router of parts.routes ?? []) app.use(router);

  const provisional = new ProvisionalWorkspaces(workspaces);
  const createDeps = {
    assignment,
    kernelChats,
    workspaces,
    provisional,
    owners: new ChatOwners(store),
    gatewayRootDir: options.gatewayRootDir,
  };
  app.post(
    `${base}api/kernels`,
    express.raw({ type: () => true, limit: '1mb' }),
    prepareKernelCreate(createDeps),
    createKernelCreateProxy(gatewayOptions, rememberCreatedKernel(createDeps)),
  );

  const forgetKernel = (encodedId: string) => {
    let id: string;
    try {
      id = decodeURIComponent(encodedId);
    } catch {
      return;
    }
    kernelChats.delete(id).catch((e) => logger.warn(`[sidecar] forgetting kernel: ${describeError(e)}`));
  };
  const passthrough = createRestPassthrough({
    ...gatewayOptions,
    onResponse(proxyRes, req) {
      // A deleted kernel is forgotten (Open WebUI makes and deletes one per run), and so is one
      // the gateway no longer has (it restarted, or culled it): the map keeps only live kernels.
      const gone = (req.method === 'DELETE' && proxyRes.statusCode === 204) || proxyRes.statusCode === 404;
      if (gone && (req.method === 'GET' || req.method === 'DELETE')) {
        const id = ONE_KERNEL.exec(req.url.slice(base.length - 1))?.[1];
        if (id) forgetKernel(id);
      }
    },
  });
  app.use(passthrough);

  const onError: ErrorRequestHandler = (error, _req, res, _next) => {
    if (error instanceof InvalidChatIdError || error instanceof ChatAssignmentError) {
      return sendJsonError(res, { code: error.code, message: error.message, jupyter: true });
    }
    const status = typeof error?.status === 'number' && error.status >= 400 && error.status < 500 ? error.status : 500;
    if (status === 500) logger.error(`[sidecar] ${describeError(error)}`);
    sendJsonError(res, {
      status,
      code: status === 413 ? 'ERR_BODY_TOO_LARGE' : status === 500 ? 'ERR_INTERNAL' : 'ERR_BAD_REQUEST',
      message: status === 500 ? 'Internal sidecar error.' : String(error.message),
      jupyter: true,
    });
  };
  app.use(onError);

  listeningBase = (): URL => {
    const address = server.address() as AddressInfo | null;
    const host = options.host.includes(':') ? `[${options.host}]` : options.host;
    return new URL(`http://${host}:${address?.port ?? options.port}/`);
  };
  const channels = createKernelChannelsUpgrade({
    gateway: options.gatewayUrl,
    assignment,
    workspaces,
    provisional,
    observer: parts.observer ?? recorder,
    announce: {
      mode: options.announceFiles,
      links,
      linkBase: (host) => linkBaseFor(options.publicUrl, host, listeningBase()),
    },
    logger,
    executionTimeoutMs: options.executionTimeoutMs,
    recordWaitMs: options.recordWaitMs,
    handshakeTimeoutMs: options.gatewayTimeoutMs,
    maxPayload: options.maxFrameBytes,
    maxInFlightBytes: options.maxInFlightBytes,
    passthrough: (req, socket, head) => passthrough.upgrade(req, socket as never, head),
  });

  const server = createServer(app);
  server.on('upgrade', (req, socket, head) => {
    if (!hosts.allows(req.headers.host)) {
      socket.on('error', () => socket.destroy());
      return refuseUpgrade(socket, { ...HOST_NOT_ALLOWED, jupyter: true });
    }
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
    backend: stores.backend,
    blobs,
    recorder,
    webhooks,
    connections: channels.connections,
    listen() {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(options.port, options.host, () => {
          const { port } = server.address() as AddressInfo;
          webhooks
            ?.start()
            .catch((error) => logger.error(`[webhooks] cannot read the outbox: ${describeError(error)}`));
          resolve(`http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}/`);
        });
      });
    },
    async close() {
      retention.stop();
      await webhooks?.stop();
      channels.close();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      // Event streams and downloads in progress get a moment to finish, then are cut.
      setTimeout(() => server.closeAllConnections(), 2000).unref();
      await closed;
      await recorder.close();
      await stores.close();
    },
  };
}
