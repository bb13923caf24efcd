/**
 * Every metric the sidecar exports, defined once, on a registry of its own (several sidecars in
 * one process, as the tests run them, do not share counters). Labels take values from small,
 * fixed sets only: never a chat id, a kernel id, a file name or a user (unbounded, and private).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Live values read when Prometheus scrapes; each is set once the part that knows it exists. */
export interface MetricSources {
  /** Kernel channel connections open now (clients). */
  connections?: () => number;
  /** Distinct kernels with at least one open channel connection. */
  liveKernels?: () => number;
  /** Bytes read from and written to clients' upgraded sockets (kernel channels and passthrough), closed ones included. */
  relayedBytes?: () => { fromClients: number; toClients: number };
  /** Bytes of execute requests held for a busy kernel now (kernel channels). */
  heldRequestBytes?: () => number;
  /** Open file-event streams (SSE) on this sidecar. */
  sseClients?: () => number;
  /** Webhook outbox counts in the store (every sidecar sharing it). */
  webhookOutbox?: () => Promise<{ pending: number; failed: number }>;
  /** Renders running now. */
  previewRendersRunning?: () => number;
  /** Chat workspaces watched with inotify now. */
  watchedChats?: () => number;
}

const SECONDS_FAST = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const SECONDS_SLOW = [0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];

export type SidecarMetrics = ReturnType<typeof createSidecarMetrics>;

/** The registry and every metric on it. `sources` are filled in by createSidecar as parts are built. */
export function createSidecarMetrics(options: { processMetrics?: boolean } = {}) {
  const registry = new Registry();
  // Process metrics (CPU, memory, event loop lag, handles) under the standard names, once per process.
  if (options.processMetrics ?? true) {
    collectDefaultMetrics({ register: registry });
    // Gauges named like counters, which `promtool check metrics` rejects; the same counts are in
    // nodejs_active_handles, nodejs_active_requests and nodejs_active_resources (by type).
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'])
      registry.removeSingleMetric(name);
  }
  const sources: MetricSources = {};
  const on = { registers: [registry] };

  const metrics = {
    registry,
    sources,

    executions: new Counter({
      name: 'sidecar_executions_total',
      help: 'Executions that ended, by how they ended (completed, kernel-restarted, kernel-dead, socket-closed, timeout).',
      labelNames: ['reason'] as const,
      ...on,
    }),
    executionSeconds: new Histogram({
      name: 'sidecar_execution_duration_seconds',
      help: 'From an execute_request to the end of its execution, files recorded included.',
      labelNames: ['reason'] as const,
      buckets: SECONDS_SLOW,
      ...on,
    }),
    executionsRunning: new Gauge({
      name: 'sidecar_executions_running',
      help: 'Executions started and not yet ended.',
      ...on,
    }),

    filesRecorded: new Counter({
      name: 'sidecar_files_recorded_total',
      help: 'File versions recorded, by source (execution, between-executions, upload, restore).',
      labelNames: ['source'] as const,
      ...on,
    }),
    bytesRecorded: new Counter({
      name: 'sidecar_recorded_bytes_total',
      help: 'Bytes of the file versions recorded (kept), by source.',
      labelNames: ['source'] as const,
      ...on,
    }),
    filesSkipped: new Counter({
      name: 'sidecar_files_skipped_total',
      help: 'Files seen and not kept, by reason (too-large, quota-exceeded, copy-failed).',
      labelNames: ['reason'] as const,
      ...on,
    }),
    scanSeconds: new Histogram({
      name: 'sidecar_scan_duration_seconds',
      help: 'Workspace scans, by cause (execution, between-executions) and outcome (ok, timeout, store-unavailable, error).',
      labelNames: ['cause', 'outcome'] as const,
      buckets: SECONDS_FAST.concat([30, 60, 120]),
      ...on,
    }),

    kernelConnections: new Gauge({
      name: 'sidecar_kernel_connections',
      help: 'Kernel channel WebSocket connections open now.',
      ...on,
      collect() {
        if (sources.connections) this.set(sources.connections());
      },
    }),
    liveKernels: new Gauge({
      name: 'sidecar_live_kernels',
      help: 'Distinct kernels with at least one open channel connection through this sidecar.',
      ...on,
      collect() {
        if (sources.liveKernels) this.set(sources.liveKernels());
      },
    }),
    relayedBytes: new Counter({
      name: 'sidecar_relayed_bytes_total',
      help: "Bytes on clients' upgraded sockets (kernel channels and other WebSockets), by direction (from-client, to-client).",
      labelNames: ['direction'] as const,
      ...on,
      collect() {
        if (!sources.relayedBytes) return;
        const { fromClients, toClients } = sources.relayedBytes();
        this.reset();
        this.inc({ direction: 'from-client' }, fromClients);
        this.inc({ direction: 'to-client' }, toClients);
      },
    }),
    heldRequestBytes: new Gauge({
      name: 'sidecar_held_request_bytes',
      help: 'Bytes of execute requests the sidecar holds for a busy kernel now; past half of --max-in-flight-mb the connections holding the most stop being read.',
      ...on,
      collect() {
        if (sources.heldRequestBytes) this.set(sources.heldRequestBytes());
      },
    }),
    sseClients: new Gauge({
      name: 'sidecar_sse_clients',
      help: 'File-event streams (Server-Sent Events) open now.',
      ...on,
      collect() {
        if (sources.sseClients) this.set(sources.sseClients());
      },
    }),

    httpRequests: new Counter({
      name: 'sidecar_http_requests_total',
      help: "Files-API requests, by route pattern (as the router writes it, never a request's own path), method and status class.",
      labelNames: ['route', 'method', 'status'] as const,
      ...on,
    }),
    uploads: new Counter({
      name: 'sidecar_uploads_total',
      help: 'Uploads, by outcome (stored, refused, failed).',
      labelNames: ['outcome'] as const,
      ...on,
    }),
    downloads: new Counter({
      name: 'sidecar_downloads_total',
      help: 'Downloads answered, by kind (file, archive) and outcome (ok, refused, failed).',
      labelNames: ['kind', 'outcome'] as const,
      ...on,
    }),

    previewRenders: new Counter({
      name: 'sidecar_preview_renders_total',
      help: 'Renders on a worker, by task (preview, diff) and outcome (ok, refused, timeout, busy, error).',
      labelNames: ['task', 'outcome'] as const,
      ...on,
    }),
    previewRenderSeconds: new Histogram({
      name: 'sidecar_preview_render_duration_seconds',
      help: 'Renders on a worker, by task.',
      labelNames: ['task'] as const,
      buckets: SECONDS_FAST.concat([30]),
      ...on,
    }),
    previewCache: new Counter({
      name: 'sidecar_preview_cache_total',
      help: 'Preview and diff lookups, by task and result (hit, miss, remembered: a recent timeout answered without a render).',
      labelNames: ['task', 'result'] as const,
      ...on,
    }),
    previewRendersRunning: new Gauge({
      name: 'sidecar_preview_renders_running',
      help: 'Renders running on worker threads now.',
      ...on,
      collect() {
        if (sources.previewRendersRunning) this.set(sources.previewRendersRunning());
      },
    }),

    watchedChats: new Gauge({
      name: 'sidecar_watched_chats',
      help: 'Chat workspaces watched with inotify now (each holds one inotify watch a folder).',
      ...on,
      collect() {
        if (sources.watchedChats) this.set(sources.watchedChats());
      },
    }),

    webhookOutbox: new Gauge({
      name: 'sidecar_webhook_outbox',
      help: 'Webhook deliveries in the store, by state (pending, failed); every sidecar sharing the store counted.',
      labelNames: ['state'] as const,
      ...on,
      async collect() {
        if (!sources.webhookOutbox) return;
        // A store that is away leaves the last values; store errors are counted on their own.
        const counts = await sources.webhookOutbox().catch(() => null);
        if (!counts) return;
        this.set({ state: 'pending' }, counts.pending);
        this.set({ state: 'failed' }, counts.failed);
      },
    }),
    webhookDeliveries: new Counter({
      name: 'sidecar_webhook_deliveries_total',
      help: 'Webhook delivery attempts by this sidecar, by outcome (delivered or no longer owed, retrying, failed for good).',
      labelNames: ['outcome'] as const,
      ...on,
    }),
    webhookDeliveryAge: new Histogram({
      name: 'sidecar_webhook_delivery_age_seconds',
      help: 'From a file being recorded to its webhook delivered.',
      buckets: [0.1, 0.5, 1, 5, 30, 60, 300, 1800, 3600, 21600, 86400],
      ...on,
    }),

    storeSeconds: new Histogram({
      name: 'sidecar_store_operation_duration_seconds',
      help: 'Record store calls (lowdb or PostgreSQL), by operation.',
      labelNames: ['operation'] as const,
      buckets: SECONDS_FAST,
      ...on,
    }),
    storeErrors: new Counter({
      name: 'sidecar_store_errors_total',
      help: 'Record store calls that failed, by operation.',
      labelNames: ['operation'] as const,
      ...on,
    }),

    /** For tool servers (MCP): count each call by tool name (a fixed set) and outcome (ok, error). */
    toolCalls: new Counter({
      name: 'sidecar_tool_calls_total',
      help: 'Tool calls (MCP), by tool and outcome (ok, error).',
      labelNames: ['tool', 'outcome'] as const,
      ...on,
    }),
  };
  return metrics;
}
