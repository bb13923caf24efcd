import { createServer, type IncomingMessage, type Server } from 'node:http';
import { signChatToken } from './links/chat-token.ts';
import { secretKey } from './links/link-token.ts';
import type { AddressInfo } from 'node:net';
import express, { type Request, type Router } from 'express';
import { createHostAllowList, listenAddressHosts } from './allowed-hosts.ts';
import { API_PREFIX } from '../contract/files-api.ts';
import { createFilesApi } from './api/files-routes.ts';
import { createStaticRoutes } from './api/static-routes.ts';
import { ArtifactRecorder } from './artifacts/artifact-recorder.ts';
import type { BlobStore } from './storage/blob-store.ts';
import type { ExecutionObserver } from './executions/execution-observer.ts';
import type { RecordStore } from './storage/record-store.ts';
import { DEFAULT_CACHED_CHATS } from './storage/chat-data.ts';
import { Retention, type SweepResult } from './artifacts/retention.ts';
import { createTrackingPolicy } from './workspace/tracking-policy.ts';
import { ChatAssignment } from './chats/chat-assignment.ts';
import { ChatOwners } from './chats/chat-owners.ts';
import type { KernelChatStore } from './chats/kernel-chats.ts';
import { ProvisionalWorkspaces } from './chats/provisional-workspaces.ts';
import { Workspaces } from './chats/workspaces.ts';
import { createKernelCreateProxy, createRestPassthrough, createScopedKernelProxy } from './gateway/gateway-proxy.ts';
import { gatewayHealthProbe } from './gateway/gateway-health.ts';
import { createKernelChannelsUpgrade } from './gateway/kernel-channels.ts';
import { prepareKernelCreate, rememberCreatedKernel } from './gateway/kernel-create.ts';
import { forgetGoneKernels } from './gateway/kernel-forget.ts';
import { noticeKernelRestarts } from './gateway/kernel-restarts.ts';
import { scopeKernelRoutes } from './gateway/kernel-scope.ts';
import { startSessionsInWorkspaces } from './gateway/session-create.ts';
import { startPatchedKernelsInWorkspaces } from './gateway/session-patch.ts';
import { applyChatTokenToUpgrade, chatFromTokenMiddleware, chatTokenReader } from './http/chat-from-token.ts';
import { peelChatPrefix } from './http/chat-prefix.ts';
import { hostCheck, upgradeHostAllowed } from './http/host-check.ts';
import { FileLinks, linkBaseFor } from './links/file-links.ts';
import { WebhookDispatcher } from './webhooks/webhook-dispatcher.ts';
import { describeError, quietLogger, type Logger } from './logger.ts';
import { createKernelTransport } from './transport/kernel-transport.ts';
import { pythonKernelsOnly } from './gateway/python-kernels-only.ts';
import type { TransferLimits } from './transport/transfer-limits.ts';
import { createErrorHandler, refuseUpgrade, refuseUpgradeFor, sendJsonError } from './errors.ts';
import type { SidecarOptions } from './options.ts';
import { previewCacheDir } from './previews/preview-cache.ts';
import { ChatFiles } from './mcp/chat-files.ts';
import { ChatKernels } from './mcp/chat-kernels.ts';
import { FilesAppViews } from './mcp/files-app.ts';
import { SessionIds } from './mcp/session-ids.ts';
import type { ToolCallObserver } from './mcp/mcp-tools.ts';
import { PreviewService } from './previews/preview-service.ts';
import { openStores, type StoreBackend } from './storage/open-stores.ts';
import { createSidecarMetrics, type SidecarMetrics } from './metrics/sidecar-metrics.ts';
import { meteredStore } from './metrics/metered-store.ts';
import { meteredObserver } from './metrics/metered-observer.ts';
import { httpMeter } from './metrics/http-meter.ts';
import { createMetricsRoute } from './metrics/metrics-route.ts';
import { UpgradeMeter } from './metrics/upgrade-meter.ts';
import { ExecutionsInFlight, settledWithin } from './executions/executions-in-flight.ts';
import { requestContext, contextOf } from './http/request-context.ts';
import { logContext } from './structured-logger.ts';

export interface SidecarParts {
  logger?: Logger;
  /** Told when each execution starts and ends; the file recorder by default. */
  observer?: ExecutionObserver;
  /** More routes of the sidecar's own, mounted before the gateway passthrough. */
  routes?: Router[];
  /** What the demo page is told (the local gateway's token); only with options.demo. */
  demoConfig?: () => Record<string, unknown>;
  /** The kernel file transport's limits (tests lower them); DEFAULT_TRANSFER_LIMITS otherwise. */
  transferLimits?: Partial<TransferLimits>;
  /** Webhook retry delays (tests shorten them); 1 s doubling to 5 min by default. */
  webhookBackoff?: { minMs: number; maxMs: number };
  /** Told of every MCP tool call (tool, outcome, duration): the hook for metrics. */
  onToolCall?: ToolCallObserver;
  /** The metrics to fill with --metrics (a registry of the sidecar's own by default). */
  metrics?: SidecarMetrics;
  /**
   * The clock links are stamped and revoked by and retention ages blobs by (tests: a sidecar
   * whose clock is off, or hours later); Date.now by default.
   */
  now?: () => number;
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
  /**
   * Stop: refuse new requests and connections (readiness 503), give executions in flight up to
   * `graceMs` (default 0) to end and be recorded, then close every connection; executions still
   * running are recorded as ended by the closed socket. Records and owed webhooks are durable
   * before this resolves; a delivery in progress completes first, so none is sent twice.
   */
  close(options?: { graceMs?: number }): Promise<void>;
  /** Executions started and not yet recorded. */
  executionsInFlight(): number;
  /** One retention sweep now (it also runs every hour): unreferenced blobs and their cached previews. */
  sweep(): Promise<SweepResult>;
  connections(): number;
}

/** The Express app and the upgrade handler, wired: the sidecar minus its start-up. */
export async function createSidecar(options: SidecarOptions, parts: SidecarParts = {}): Promise<Sidecar> {
  const logger = parts.logger ?? quietLogger;
  const workspaces = new Workspaces(options.workspaceRoot, options.kernelWorkspaceRoot, {
    // A kernel that really has /mnt/data (its own container, no shared disk): no folder per chat, no rewriting.
    kernelFolderPerChat: !(options.fileTransport === 'kernel' && options.kernelWorkspaceRoot === '/mnt/data'),
  });
  await workspaces.realRoot();
  const metrics = options.metrics ? (parts.metrics ?? createSidecarMetrics()) : null;
  const stores = await openStores(options, logger);
  const { blobs, kernelChats } = stores;
  const store = metrics ? meteredStore(stores.store, metrics) : stores.store;
  const assignment = new ChatAssignment(kernelChats, options.anonymousChat);
  const links = new FileLinks({ secret: options.filesSecret, ttlSeconds: options.linkTtlSeconds, now: parts.now });
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
    maxCachedChats: DEFAULT_CACHED_CHATS,
    onScan: metrics ? (cause, seconds, outcome) => metrics.scanSeconds.observe({ cause, outcome }, seconds) : undefined,
  });
  const transport =
    options.fileTransport === 'kernel'
      ? createKernelTransport({
          workspaces,
          policy: recorder.policy,
          logger,
          // Only the limits that were set: the rest keep their defaults (tests lower some through parts).
          limits: { ...setOnly(options.transfer), ...parts.transferLimits },
        })
      : null;
  const previews = new PreviewService({
    blobs,
    cacheDir: previewCacheDir(options.dataDir),
    limits: setOnly(options.previews),
    observer: metrics
      ? {
          looked: (task, result) => metrics.previewCache.inc({ task, result }),
          rendered: (task, outcome, seconds) => {
            metrics.previewRenders.inc({ task, outcome });
            metrics.previewRenderSeconds.observe({ task }, seconds);
          },
        }
      : undefined,
  });
  const retention = new Retention(
    { store, blobs, recorder, workspaces, logger, exclusive: stores.exclusive, blobCaches: [previews], now: parts.now },
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

  let closing = false;
  app.use(requestContext(logger));
  app.use(hostCheck(hosts));
  // Shutting down: new requests (on connections already open) get a 503 and the connection closes.
  app.use((req, res, next) => {
    if (!closing || req.path.endsWith('/health/live') || req.path.endsWith('/health/ready')) return next();
    sendJsonError(res, { code: 'ERR_SIDECAR_CLOSING', headers: { Connection: 'close' } });
  });
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
      // The MCP App calls the files API from a sandbox origin the host picks (see api/cors.ts).
      tokenRoutesFromAnyOrigin: options.mcp.enabled && !!options.filesSecret,
      uploadLimitBytes: options.uploadMaxBytes,
      gatewayHealth: gatewayHealthProbe(options.gatewayUrl),
      previews,
      webhookHealth: webhooks ? () => webhooks.health() : undefined,
      storeHealth: stores.health,
      closing: () => closing,
      revocationSkewMs: options.revocationSkewMs,
      now: parts.now,
    }),
  );
  app.use(
    createStaticRoutes({
      demo: options.demo,
      demoConfig: parts.demoConfig,
      demoChatToken: async (chatId) =>
        options.filesSecret
          ? signChatToken(secretKey(options.filesSecret), { chat: chatId }, Math.min(3600, options.tokenMaxLifetimeS))
          : null,
    }),
  );

  const owners = new ChatOwners(store);

  // MCP: a Jupyter client of this very sidecar (its kernels go through the routes below).
  const mcpKernels = options.mcp.enabled
    ? new ChatKernels({
        selfBase: () => selfBase(),
        connectChannels: (target) => channels.connectLocal(target),
        gatewayBasePath: options.gatewayUrl.pathname,
        gatewayToken: options.mcp.gatewayToken,
        kernelChats,
        timeoutMs: options.mcp.timeoutMs,
        queueLength: options.mcp.queueLength,
        idleMs: options.mcp.idleMs,
        maxKernels: options.mcp.maxKernels,
        logger,
      })
    : null;
  // The MCP SDK and zod cost about 10 MB of memory and 0.2 s of start: loaded only with --mcp.
  const mcp = mcpKernels
    ? (await import('./mcp/mcp-routes.ts')).createMcpRoutes({
        kernels: mcpKernels,
        files: new ChatFiles({
          store,
          blobs,
          links,
          cardMaxFiles: options.cardMaxFiles,
          cardsAnnounced: options.announceFiles !== 'off',
        }),
        owners,
        outputChars: options.mcp.outputChars,
        appViews: new FilesAppViews({ secret: options.filesSecret, ttlS: options.mcp.appTokenTtlS }),
        logger,
        onToolCall: (tool, outcome, ms) => {
          metrics?.toolCalls.inc({ tool, outcome });
          parts.onToolCall?.(tool, outcome, ms);
        },
        caller: {
          apiKey: options.mcp.apiKey,
          auth: { secret: options.filesSecret, maxLifetimeS: options.tokenMaxLifetimeS },
          chatHeaders: options.mcp.chatHeaders,
        },
        linkBase: (host) => linkBaseFor(options.publicUrl, host, listeningBase()),
        sessionIds: new SessionIds(options.filesSecret || options.mcp.apiKey),
      })
    : null;
  if (mcp) app.use(mcp.router);
  for (const router of parts.routes ?? []) app.use(router);

  // A chat token names the chat on Jupyter's routes like the prefix and X-Chat-Id do.
  const readChatToken = chatTokenReader({ secret: options.filesSecret, maxLifetimeS: options.tokenMaxLifetimeS });
  app.use(chatFromTokenMiddleware(readChatToken));
  const forgetGone = forgetGoneKernels({ base, kernelChats, logger });
  // `channels` is made below; a restart can only be answered once the sidecar is serving.
  const noticeRestarts = noticeKernelRestarts({ base, onRestart: (id) => channels.kernelRestarted(id) });
  const onKernelResponse = (proxyRes: IncomingMessage, req: Request) => {
    forgetGone(proxyRes, req);
    noticeRestarts(proxyRes, req);
  };
  // Under a chat's prefix, X-Chat-Id or token, Jupyter's kernel and session routes see only that chat's kernels.
  app.use(
    scopeKernelRoutes({
      base,
      ...gatewayOptions,
      kernelChats,
      proxy: createScopedKernelProxy({ ...gatewayOptions, onResponse: onKernelResponse }),
    }),
  );

  const provisional = new ProvisionalWorkspaces(workspaces);
  const createDeps = {
    assignment,
    kernelChats,
    workspaces,
    provisional,
    owners,
    gatewayRootDir: options.gatewayRootDir,
    kernelVolume: options.kernelVolume,
    acceptsKernel: transport
      ? pythonKernelsOnly({ gateway: options.gatewayUrl, base, timeoutMs: options.gatewayTimeoutMs })
      : undefined,
  };
  app.post(
    `${base}api/kernels`,
    express.raw({ type: () => true, limit: '1mb' }),
    prepareKernelCreate(createDeps),
    createKernelCreateProxy(gatewayOptions, rememberCreatedKernel(createDeps)),
  );

  app.post(
    `${base}api/sessions`,
    express.raw({ type: () => true, limit: '1mb' }),
    startSessionsInWorkspaces({ ...createDeps, ...gatewayOptions, base }),
  );
  app.patch(
    `${base}api/sessions/:sessionId`,
    express.raw({ type: () => true, limit: '1mb' }),
    startPatchedKernelsInWorkspaces({ ...createDeps, ...gatewayOptions, base }),
  );

  const passthrough = createRestPassthrough({
    ...gatewayOptions,
    onResponse: onKernelResponse,
  });
  app.use(passthrough);

  app.use(createErrorHandler({ logger, jupyter: true }));

  listeningBase = (): URL => {
    const address = server.address() as AddressInfo | null;
    const host = options.host.includes(':') ? `[${options.host}]` : options.host;
    return new URL(`http://${host}:${address?.port ?? options.port}/`);
  };
  // --file-transport kernel: the kernel's files are brought over before the recorder scans.
  const observer = transport ? transport.observe(parts.observer ?? recorder) : (parts.observer ?? recorder);
  /** This sidecar as its own MCP client reaches it: the listening address, loopback for a wildcard. */
  const selfBase = (): URL => {
    const address = server.address() as AddressInfo | null;
    const host =
      options.host === '0.0.0.0' || options.host === ''
        ? '127.0.0.1'
        : options.host === '::'
          ? '[::1]'
          : options.host.includes(':')
            ? `[${options.host}]`
            : options.host;
    return new URL(`http://${host}:${address?.port ?? options.port}/`);
  };
  const inFlight = new ExecutionsInFlight();
  const channels = createKernelChannelsUpgrade({
    gateway: options.gatewayUrl,
    assignment,
    workspaces,
    provisional,
    observer: inFlight.wrap(metrics ? meteredObserver(observer, metrics) : observer),
    kernelChannels: transport?.channels,
    announce: {
      mode: options.announceFiles,
      links,
      linkBase: (host) => linkBaseFor(options.publicUrl, host, listeningBase()),
      maxFiles: options.cardMaxFiles,
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
      heldRequestBytes: channels.heldRequestBytes,
      sseClients: () => stores.events.listenerCount(),
      previewRendersRunning: () => previews.running,
      watchedChats: () => recorder.watchedChats,
      webhookOutbox: webhooks ? () => store.outboxSummary() : undefined,
    } satisfies typeof metrics.sources);
  }

  const server = createServer(app);
  server.on('upgrade', (req, socket, head) =>
    logContext.run(contextOf(req), () => {
      if (!upgradeHostAllowed(hosts, req, socket)) return;
      if (closing) return refuseUpgrade(socket, { code: 'ERR_SIDECAR_CLOSING' });
      upgrades?.track(req, socket);
      const failed = (error: unknown) => {
        logger.error(`[sidecar] upgrade failed: ${describeError(error)}`);
        refuseUpgradeFor(socket, error);
      };
      applyChatTokenToUpgrade(readChatToken, req, socket).then((named) => {
        if (named) channels.handleUpgrade(req, socket, head).catch(failed);
      }, failed);
    }),
  );

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
    executionsInFlight: () => inFlight.count,
    sweep: () => retention.sweep(),
    async close({ graceMs = 0 } = {}) {
      closing = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      retention.stop();
      // Executions get the grace period to end on their own, less a reserve in which those still
      // running when it is up are ended (their socket closed) and recorded.
      const deadline = Date.now() + graceMs;
      const reserve = Math.min(2000, graceMs / 2);
      if (inFlight.count > 0) {
        logger.info(`[sidecar] waiting up to ${graceMs} ms for ${inFlight.count} execution(s) in flight`);
        if (!(await inFlight.settled(graceMs - reserve)))
          logger.warn(`[sidecar] ${inFlight.count} execution(s) still running: recorded as ended by the shutdown`);
      }
      // Every execution a client sent (queued ones too) ends and reaches it, its file card and idle
      // before the 1001, within the grace period: only what is still running then is cut.
      const queued = channels.executionsPending();
      if (queued > 0)
        logger.info(
          `[sidecar] waiting for ${queued} execution(s) on kernel connections to end and reach their clients`,
        );
      if (
        !(await settledWithin(channels.delivered(), deadline - reserve / 2 - Date.now())) &&
        channels.executionsPending()
      )
        logger.warn(
          `[sidecar] ${channels.executionsPending()} execution(s) did not end in time: their sockets are closed`,
        );
      mcpKernels?.close();
      await mcp?.close();
      channels.close();
      await inFlight.settled(Math.max(0, deadline - Date.now()));
      // After the last records: their deliveries are in the outbox, sent by whichever sidecar runs next.
      await webhooks?.stop();
      server.closeIdleConnections();
      // Event streams and downloads in progress get a moment to finish, then are cut.
      setTimeout(() => server.closeAllConnections(), 2000).unref();
      await closed;
      await recorder.close();
      await stores.close();
    },
  };
}

/** The limits an operator set (the rest are null in the options): the others keep their defaults. */
function setOnly<T extends Record<string, number | null>>(limits: T): { [K in keyof T]?: number } {
  return Object.fromEntries(Object.entries(limits).filter(([, v]) => v !== null)) as { [K in keyof T]?: number };
}
