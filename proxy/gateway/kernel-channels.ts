import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type WebSocket from 'ws';
import { WebSocketServer } from 'ws';
import { FileAnnouncer } from '../announce/file-announcer.ts';
import type { AnnounceMode } from '../announce/file-card.ts';
import type { ExecutionObserver } from '../executions/execution-observer.ts';
import type { FileLinks } from '../links/file-links.ts';
import type { ChatAssignment } from '../chats/chat-assignment.ts';
import { InvalidChatIdError, isValidOpaqueId } from '../chats/chat-id.ts';
import { chatFromRequest, ownerFromRequest, splitChatPrefix } from '../chats/chat-request.ts';
import type { ProvisionalWorkspace, ProvisionalWorkspaces } from '../chats/provisional-workspaces.ts';
import type { Workspaces } from '../chats/workspaces.ts';
import { ExecutionTracker } from '../executions/execution-tracker.ts';
import { KernelExecutionOrders } from '../executions/kernel-execution-order.ts';
import { describeError, redactUrl, type Logger } from '../logger.ts';
import { PathRewriter } from '../rewrite/path-rewriter.ts';
import { STREAM_HOLD_MS } from '../rewrite/stream-splicer.ts';
import { clientReplyFor, refuseUpgradeFor, SidecarError } from '../errors.ts';
import { awaitHandshake, dialGateway, dialGatewayWith, gatewayAnswer } from './gateway-handshake.ts';
import { FrameBudget } from './frame-budget.ts';
import { KernelChannelRelay } from './kernel-channel-relay.ts';
import { LocalSocket, type RelaySocket } from './relay-socket.ts';
import { SilentExecutions, SilentMessageIds } from './silent-executions.ts';
import type { KernelChannels } from '../transport/kernel-command-channel.ts';
import { legacyCodec } from '../wire/wire-legacy.ts';
import { V1_PROTOCOL, v1Codec } from '../wire/wire-v1.ts';

export interface KernelChannelsOptions {
  gateway: URL;
  assignment: ChatAssignment;
  workspaces: Workspaces;
  provisional: ProvisionalWorkspaces;
  observer: ExecutionObserver;
  /** The file card; absent or mode 'off': none. */
  announce?: {
    mode: AnnounceMode;
    links: FileLinks;
    linkBase: (hostHeader: string | undefined) => URL;
    /** Files a card names one by one; the rest get one zip link. */
    maxFiles?: number;
  };
  logger: Logger;
  executionTimeoutMs: number;
  recordWaitMs: number;
  handshakeTimeoutMs: number;
  /** Largest frame accepted from either side (--max-frame-mb). */
  maxPayload: number;
  /** Frame bytes held across all connections before reads pause (--max-in-flight-mb). */
  maxInFlightBytes: number;
  /** `--file-transport kernel`: every kernel connection joins it, so the transport can run its executions. */
  kernelChannels?: KernelChannels;
  /** Upgrades that are not kernel channels (terminals, events): a plain byte pipe. */
  passthrough: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
}

/** Bytes buffered toward one side before the other side's reads pause. */
const RELAY_HIGH_WATER_MARK = 16 * 1024 * 1024;

const UPSTREAM_PROTOCOL = Symbol('upstreamProtocol');
type UpgradeRequest = IncomingMessage & { [UPSTREAM_PROTOCOL]?: string };

/**
 * Terminates `/api/kernels/{id}/channels` at the sidecar and opens the gateway socket itself,
 * so that every message can be read and rewritten. The client's handshake is answered only
 * after the gateway's, with the subprotocol the gateway chose; a refusal by the gateway (bad
 * token, unknown kernel) reaches the client as the same HTTP status.
 */
export function createKernelChannelsUpgrade(options: KernelChannelsOptions) {
  const base = options.gateway.pathname;
  const channelsPath = new RegExp(`^${base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}api/kernels/([^/]+)/channels$`);
  const { maxPayload } = options;
  const budget = new FrameBudget(options.maxInFlightBytes);
  const server = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    maxPayload,
    handleProtocols: (offered, req: UpgradeRequest) => {
      const chosen = req[UPSTREAM_PROTOCOL];
      return chosen && offered.has(chosen) ? chosen : false;
    },
  });

  const upstreams = new Set<WebSocket>();
  /** The relay's end of each in-process client's socket (`connectLocal`). */
  const locals = new Set<LocalSocket>();
  /** Each open relay, and the kernel it is connected to. */
  const relays = new Map<KernelChannelRelay, string>();
  const silentIds = new SilentMessageIds();
  const orders = new KernelExecutionOrders();

  type ChannelsTarget =
    | { kind: 'other'; url: string }
    | { kind: 'refused'; error: SidecarError }
    | { kind: 'channels'; kernelId: string; prefixChatId: string | null; url: URL };

  /** Step 1: is this the channels URL of one kernel, and under which chat prefix? Malformed is a 400. */
  function readChannelsTarget(rawUrl: string): ChannelsTarget {
    try {
      // The prefix is read off the URL as sent, like the REST routes do: parsing it first would
      // resolve `..` and `%2e%2e`, and a bad chat id would vanish instead of being refused.
      const url = new URL(rawUrl, 'http://sidecar.invalid');
      const prefix = splitChatPrefix(rawUrl);
      const pathname = prefix ? new URL(prefix.rest, 'http://sidecar.invalid').pathname : url.pathname;
      const match = channelsPath.exec(pathname);
      if (!match) return { kind: 'other', url: pathname + url.search };
      const kernelId = decodeURIComponent(match[1]!);
      if (!isValidOpaqueId(kernelId))
        return { kind: 'refused', error: new SidecarError('ERR_INVALID_KERNEL_ID', 'Invalid kernel id.') };
      url.pathname = pathname;
      return { kind: 'channels', kernelId, prefixChatId: prefix?.chatId ?? null, url };
    } catch (error) {
      if (error instanceof InvalidChatIdError) return { kind: 'refused', error };
      return { kind: 'refused', error: new SidecarError('ERR_BAD_REQUEST', 'Malformed kernel channels URL.') };
    }
  }

  /**
   * Step 2: which chat the kernel belongs to. A refusal answers with its own status; anything
   * unexpected is logged and answered with its code when it has a known one (a database away
   * while this sidecar has never seen the kernel: 503 ERR_STORE_UNAVAILABLE), else 500.
   */
  async function assignChat(req: UpgradeRequest, socket: Duplex, kernelId: string, prefixChatId: string | null) {
    try {
      return await options.assignment.forKernel(kernelId, chatFromRequest(req, prefixChatId), ownerFromRequest(req));
    } catch (error) {
      const { logged } = refuseUpgradeFor(socket, error);
      if (logged) options.logger.error(`[sidecar] upgrade ${redactUrl(req.url)}: ${describeError(error)}`);
      return null;
    }
  }

  /** Step 3: the chat's folder, provisional until the gateway accepts, and a rewriter that knows its real path. */
  async function openWorkspace(chatId: string): Promise<{ workspace: ProvisionalWorkspace; rewriter: PathRewriter }> {
    const workspace = await options.provisional.open(chatId);
    try {
      return { workspace, rewriter: new PathRewriter(await options.workspaces.formsFor(chatId)) };
    } catch (error) {
      await workspace.release();
      throw error;
    }
  }

  /** The gateway refused or failed: take the folder away; a 404 says the kernel is gone, so forget its chat. */
  function undo(workspace: ProvisionalWorkspace, kernelId: string, status: number): void {
    void workspace.release();
    if (status === 404)
      options.assignment
        .forget(kernelId)
        .catch((e) => options.logger.warn(`[sidecar] forgetting kernel: ${describeError(e)}`));
  }

  /** Step 4: dial the gateway; its socket is closed with ours at shutdown. */
  function dial(req: UpgradeRequest, url: URL, chatId: string): WebSocket {
    return tracked(dialGateway(req, url, chatId, options));
  }

  function tracked(upstream: WebSocket): WebSocket {
    upstreams.add(upstream);
    upstream.once('close', () => upstreams.delete(upstream));
    return upstream;
  }

  /**
   * Validate (the URL, the chat), then complete (folder, gateway handshake, client handshake with the
   * gateway's subprotocol, relay). The kernel is remembered only once the gateway accepted.
   */
  async function handleUpgrade(req: UpgradeRequest, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', () => socket.destroy());
    const target = readChannelsTarget(req.url ?? '/');
    if (target.kind === 'other') {
      req.url = target.url;
      return options.passthrough(req, socket, head);
    }
    if (target.kind === 'refused') return void refuseUpgradeFor(socket, target.error);
    const { kernelId } = target;
    const assigned = await assignChat(req, socket, kernelId, target.prefixChatId);
    if (!assigned) return;
    const { workspace, rewriter } = await openWorkspace(assigned.chatId);
    const upstream = dial(req, target.url, assigned.chatId);
    awaitHandshake(
      upstream,
      socket,
      { kernelId, logger: options.logger },
      {
        failed: (status) => undo(workspace, kernelId, status),
        opened: () => {
          workspace.commit();
          assigned
            .remember?.()
            .catch((e) => options.logger.warn(`[sidecar] remembering kernel ${kernelId}: ${describeError(e)}`));
          if (socket.destroyed) return upstream.close(1001);
          if (upstream.protocol) req[UPSTREAM_PROTOCOL] = upstream.protocol;
          server.handleUpgrade(req, socket, head, (client) =>
            startRelay(req.headers.host, client, upstream, { ...assigned, kernelId, rewriter }),
          );
        },
      },
    );
  }

  /**
   * A kernel's channels for a client inside this process (the MCP server): the steps of an upgrade
   * (the kernel's chat, the workspace, the gateway's socket, the relay) with an in-process socket
   * for the client instead of a loopback WebSocket, so its frames are neither framed, sent nor read
   * again. Legacy wire format. Rejects with `status` as an upgrade would be refused (the gateway's
   * own status: 404 for a kernel it does not know).
   */
  async function connectLocal(target: {
    chatId: string;
    kernelId: string;
    /** Sent to the gateway (its credentials). */
    headers: Record<string, string>;
  }): Promise<LocalSocket> {
    const { kernelId } = target;
    const assigned = await (
      isValidOpaqueId(kernelId)
        ? options.assignment.forKernel(kernelId, target.chatId, null)
        : Promise.reject(new SidecarError('ERR_INVALID_KERNEL_ID', 'Invalid kernel id.'))
    ).catch((error: unknown) => {
      const reply = clientReplyFor(error);
      if (reply.logged) options.logger.error(`[sidecar] kernel ${kernelId} channels: ${describeError(error)}`);
      throw Object.assign(new Error(`kernel channels refused: ${reply.code}`), { status: reply.status });
    });
    const { workspace, rewriter } = await openWorkspace(assigned.chatId);
    const url = new URL(`${base}api/kernels/${encodeURIComponent(kernelId)}/channels`, 'http://sidecar.invalid');
    const upstream = tracked(
      dialGatewayWith(url, assigned.chatId, { headers: target.headers, protocols: [] }, options),
    );
    const refused = await gatewayAnswer(upstream, { kernelId, logger: options.logger });
    if (refused !== null) {
      undo(workspace, kernelId, refused);
      throw Object.assign(new Error(`kernel channels refused: ${refused}`), { status: refused });
    }
    workspace.commit();
    assigned
      .remember?.()
      .catch((e) => options.logger.warn(`[sidecar] remembering kernel ${kernelId}: ${describeError(e)}`));
    const [relayEnd, clientEnd] = LocalSocket.pair();
    locals.add(relayEnd);
    relayEnd.on('close', () => locals.delete(relayEnd));
    startRelay(undefined, relayEnd, upstream, { ...assigned, kernelId, rewriter });
    return clientEnd;
  }

  /** Step 5: the client is connected; relay its frames through the rewriter, tracker and file card. */
  function startRelay(
    /** The Host the client connected with (links in the file card); none: the listening address. */
    host: string | undefined,
    client: RelaySocket,
    upstream: WebSocket,
    channel: { chatId: string; owner: string | null; kernelId: string; rewriter: PathRewriter },
  ): void {
    const { chatId, owner, kernelId, rewriter } = channel;
    const { order, leave } = orders.join(kernelId);
    upstream.once('close', leave);
    const tracker = new ExecutionTracker({
      chatId,
      kernelId,
      owner,
      observer: options.observer,
      timeoutMs: options.executionTimeoutMs,
      // The held first of reply and idle is released at the latest when a record wait would be.
      pairWaitMs: options.recordWaitMs,
      logger: options.logger,
      onRecorded: (msgId) => order.settle(msgId),
    });
    const codec = upstream.protocol === V1_PROTOCOL ? v1Codec : legacyCodec;
    const { announce } = options;
    let silent: SilentExecutions | undefined;
    if (options.kernelChannels) {
      silent = new SilentExecutions(upstream, codec, silentIds);
      const detach = options.kernelChannels.attach(kernelId, silent);
      upstream.once('close', detach);
    }
    const relay = new KernelChannelRelay(client, upstream, {
      silent,
      codec,
      rewriter,
      tracker,
      order,
      announcer:
        announce && announce.mode !== 'off'
          ? new FileAnnouncer({
              mode: announce.mode,
              links: announce.links,
              linkBase: announce.linkBase(host),
              codec,
              maxFiles: announce.maxFiles,
            })
          : undefined,
      logger: options.logger,
      highWaterMark: RELAY_HIGH_WATER_MARK,
      recordWaitMs: options.recordWaitMs,
      streamHoldMs: STREAM_HOLD_MS,
      budget,
      barrierLingerMs: options.executionTimeoutMs,
    });
    relays.set(relay, kernelId);
    client.on('close', () => relays.delete(relay));
  }

  /** Executions running or queued on the kernel connections open now. */
  function executionsPending(): number {
    let count = 0;
    for (const relay of relays.keys()) count += relay.executionsPending;
    return count;
  }

  /** Resolves once every execution on an open connection has ended and reached its client. */
  async function delivered(): Promise<void> {
    await Promise.all([...relays.keys()].map((relay) => relay.delivered()));
  }

  /** The kernel was restarted through REST (kernel-restarts.ts): every connection to it is told. */
  function kernelRestarted(kernelId: string): void {
    for (const [relay, id] of relays) if (id === kernelId) relay.kernelRestarted();
  }

  /** Close every kernel connection: clients are told the sidecar is going away (1001). */
  function close(): void {
    for (const client of server.clients) client.close(1001, 'sidecar shutting down');
    for (const client of locals) client.close(1001, 'sidecar shutting down');
    for (const upstream of upstreams) upstream.close(1001);
    server.close();
  }

  return {
    handleUpgrade,
    close,
    delivered,
    executionsPending,
    kernelRestarted,
    connectLocal,
    connections: () => server.clients.size + locals.size,
    framesInFlight: () => budget.inFlight,
    heldRequestBytes: () => budget.held,
  };
}
