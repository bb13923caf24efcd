import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Router } from 'express';
import { createHostAllowList, listenAddressHosts } from './allowed-hosts.ts';
import { API_PREFIX } from '../contract/files-api.ts';
import { createFilesApi } from './api/files-routes.ts';
import { createStaticRoutes } from './api/static-routes.ts';
import { ArtifactRecorder } from './artifacts/artifact-recorder.ts';
import type { BlobStore } from './storage/blob-store.ts';
import type { ExecutionObserver } from './executions/execution-observer.ts';
import type { RecordStore } from './storage/record-store.ts';
import { Retention } from './artifacts/retention.ts';
import { createTrackingPolicy } from './workspace/tracking-policy.ts';
import { ChatAssignment } from './chats/chat-assignment.ts';
import { ChatOwners } from './chats/chat-owners.ts';
import type { KernelChatStore } from './chats/kernel-chats.ts';
import { ProvisionalWorkspaces } from './chats/provisional-workspaces.ts';
import { Workspaces } from './chats/workspaces.ts';
import { createKernelCreateProxy, createRestPassthrough } from './gateway/gateway-proxy.ts';
import { gatewayHealthProbe } from './gateway/gateway-health.ts';
import { createKernelChannelsUpgrade } from './gateway/kernel-channels.ts';
import { prepareKernelCreate, rememberCreatedKernel } from './gateway/kernel-create.ts';
import { forgetGoneKernels } from './gateway/kernel-forget.ts';
import { scopeKernelRoutes } from './gateway/kernel-scope.ts';
import { peelChatPrefix } from './http/chat-prefix.ts';
import { hostCheck, upgradeHostAllowed } from './http/host-check.ts';
import { FileLinks, linkBaseFor } from './links/file-links.ts';
import { WebhookDispatcher } from './webhooks/webhook-dispatcher.ts';
import { describeError, quietLogger, type Logger } from './logger.ts';
import { createErrorHandler, refuseUpgradeFor } from './errors.ts';
import type { SidecarOptions } from './options.ts';
import { previewCacheDir } from './previews/preview-cache.ts';
import { PreviewService } from './previews/preview-service.ts';
import { openStores, type StoreBackend } from './storage/open-stores.ts';
import { createSidecarMetrics, type SidecarMetrics } from './metrics/sidecar-metrics.ts';
import { meteredStore } from './metrics/metered-store.ts';
import { meteredObserver } from './metrics/metered-observer.ts';
import { httpMeter } from './metrics/http-meter.ts';
import { createMetricsRoute } from './metrics/metrics-route.ts';
import { UpgradeMeter } from './metrics/upgrade-meter.ts';

export interface SidecarParts {
  logger?: Logger;
  /** Told when each execution starts and ends; the file recorder by default. */
  observer?: ExecutionObserver;
  /** More routes of the sidecar's own, mounted before the gateway passthrough. */
  routes?: Router[];
  /** What the demo page is told (the local gateway's token); only with options.demo. */
  demoConfig?: () => Record<string, unknown>;
  /** The metrics to fill with --metrics (a registry of the sidecar's own by default). */
  metrics?: SidecarMetrics;
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
  /** With --metrics: every metric, for parts added later (a tool server counts its calls here). */
  metrics: SidecarMetrics | null;
  /** Start listening; resolves with the URL. */
  listen(): Promise<string>;
  close(): Promise<void>;
  connections(): number;
}

/** The Express app and the upgrade handler, wired: the sidecar minus its start-up. */
export async function createSidecar(options: SidecarOptions, parts: SidecarParts = {}): Promise<Sidecar> {
  const logger = parts.logger ?? quietLogger;
  const workspaces = new Workspaces(options.workspaceRoot, options.kernelWorkspaceRoot);
  await workspaces.realRoot();
  const metrics = options.metrics ? (parts.metrics ?? createSidecarMetrics()) : null;
  const stores = await openStores(options, logger);
  const { blobs, kernelChats } = stores;
  const store = metrics ? meteredStore(stores.store, metrics) : stores.store;
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
          backoff: { minMs: options.webhookRetryMinMs, maxMs: options.webhookRetryMaxMs },
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
    onScan: metrics ? (cause, seconds, outcome) => metrics.scanSeconds.observe({ cause, outcome }, seconds) : undefined,
  });
  const previews = new PreviewService({
    blobs,
    cacheDir: previewCacheDir(options.dataDir),
    // Only the limits that were set: the rest keep their defaults.
    limits: Object.fromEntries(Object.entries(options.previews).filter(([, v]) => v !== null)),
    observer: metrics
      ? {
          looked: (task, hit) => metrics.previewCache.inc({ task, result: hit ? 'hit' : 'miss' }),
          rendered: (task, outcome, seconds) => {
            metrics.previewRenders.inc({ task, outcome });
            metrics.previewRenderSeconds.observe({ task }, seconds);
          },
        }
      : undefined,
  });
  const retention = new Retention(
    { store, blobs, recorder, workspaces, logger, exclusive: stores.exclusive, blobCaches: [previews] },
    { workspaceMaxAgeDays: options.workspaceMaxAgeDays },
  );
  const base = options.gatewayUrl.pathname;
  const gatewayOptions = {
    gateway: options.gatewayUrl,
    timeoutMs: options.gatewayTimeoutMs,
    logger,
  };

  // The address we listen on is configured too (unless it is a wildcard): clients may use it.
  const hosts = createHostAllowList({
    publicUrl: options.publicUrl,
    allowedHosts: [...options.allowedHosts, ...listenAddressHosts(options.host)],
  });

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  app.use(hostCheck(hosts));
  if (metrics) app.use(createMetricsRoute(metrics, options.metricsToken));
  app.use(peelChatPrefix);

  app.use(
    API_PREFIX,
    ...(metrics ? [httpMeter(metrics)] : []),
    createFilesApi({
      store,
      blobs,
      recorder,
      workspaces,
      logger,
      auth: { secret: options.filesSecret, maxLifetimeS: options.tokenMaxLifetimeS },
      corsOrigins: options.corsOrigins,
      uploadLimitBytes: options.uploadMaxBytes,
      gatewayHealth: gatewayHealthProbe(options.gatewayUrl),
      previews,
      webhookHealth: webhooks ? () => webhooks.health() : undefined,
      storeHealth: stores.health,
    }),
  );
  app.use(createStaticRoutes({ demo: options.demo, demoConfig: parts.demoConfig }));
  for (const router of parts.routes ?? []) app.use(router);

  // Under a chat's prefix or X-Chat-Id, Jupyter's kernel and session routes see only that chat's kernels.
  app.use(
    scopeKernelRoutes({ base, gateway: options.gatewayUrl, timeoutMs: options.gatewayTimeoutMs, kernelChats, logger }),
  );

  const provisional = new ProvisionalWorkspaces(workspaces);
  const createDeps = {
    assignment,
    kernelChats,
    workspaces,
    provisional,
    owners: new ChatOwners(store),
    gatewayRootDir: options.gatewayRootDir,
    kernelVolume: options.kernelVolume,
  };
  app.post(
    `${base}api/kernels`,
    express.raw({ type: () => true, limit: '1mb' }),
    prepareKernelCreate(createDeps),
    createKernelCreateProxy(gatewayOptions, rememberCreatedKernel(createDeps)),
  );

  const passthrough = createRestPassthrough({
    ...gatewayOptions,
    onResponse: forgetGoneKernels({ base, kernelChats, logger }),
  });
  app.use(passthrough);

  app.use(createErrorHandler({ logger, jupyter: true }));

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
    observer: metrics ? meteredObserver(parts.observer ?? recorder, metrics) : (parts.observer ?? recorder),
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

  const upgrades = metrics ? new UpgradeMeter() : null;
  if (metrics) {
    Object.assign(metrics.sources, {
      connections: channels.connections,
      liveKernels: () => upgrades!.liveKernels(),
      relayedBytes: () => upgrades!.bytes(),
      sseClients: () => stores.events.listenerCount(),
      previewRendersRunning: () => previews.running,
      webhookOutbox: webhooks ? () => store.outboxSummary() : undefined,
    } satisfies typeof metrics.sources);
  }

  const server = createServer(app);
  server.on('upgrade', (req, socket, head) => {
    if (!upgradeHostAllowed(hosts, req, socket)) return;
    upgrades?.track(req, socket);
    channels.handleUpgrade(req, socket, head).catch((error) => {
      logger.error(`[sidecar] upgrade failed: ${describeError(error)}`);
      refuseUpgradeFor(socket, error);
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
    metrics,
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
