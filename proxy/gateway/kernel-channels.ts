import { createHash, randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import WebSocket, { WebSocketServer } from 'ws';
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
import { describeError, redactUrl, type Logger } from '../logger.ts';
import { PathRewriter } from '../rewrite/path-rewriter.ts';
import { STREAM_HOLD_MS } from '../rewrite/stream-splicer.ts';
import { sameOriginAsGateway } from './forward-headers.ts';
import { refuseUpgrade, refuseUpgradeFor, SidecarError, writeRawResponse } from '../errors.ts';
import { gatewayFailure } from './gateway-errors.ts';
import { FrameBudget } from './frame-budget.ts';
import { KernelChannelRelay } from './kernel-channel-relay.ts';
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

/** Headers the gateway needs to authenticate the socket, and nothing that belongs to this hop. */
const FORWARDED_HEADERS = [
  'authorization',
  'cookie',
  'x-xsrftoken',
  'user-agent',
  'x-forwarded-for',
  'x-forwarded-proto',
];

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
  const silentIds = new SilentMessageIds();

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

  async function handleUpgrade(req: UpgradeRequest, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', () => socket.destroy());
    const target = readChannelsTarget(req.url ?? '/');
    if (target.kind === 'other') {
      req.url = target.url;
      return options.passthrough(req, socket, head);
    }
    if (target.kind === 'refused') return void refuseUpgradeFor(socket, target.error);
    const { kernelId, url } = target;
    const assigned = await assignChat(req, socket, kernelId, target.prefixChatId);
    if (!assigned) return;
    const { chatId, owner, remember } = assigned;

    // The folder must exist for the rewriter to learn its real path; it is taken away again if the
    // gateway refuses the connection, and the kernel is remembered only once the gateway accepted.
    const workspace: ProvisionalWorkspace = await options.provisional.open(chatId);
    let rewriter: PathRewriter;
    try {
      rewriter = new PathRewriter(await options.workspaces.formsFor(chatId));
    } catch (error) {
      await workspace.release();
      throw error;
    }
    const refused = (status: number) => {
      void workspace.release();
      // The gateway says the kernel is gone: forget its chat, so the map does not keep dead kernels.
      if (status === 404)
        options.assignment
          .forget(kernelId)
          .catch((e) => options.logger.warn(`[sidecar] forgetting kernel: ${describeError(e)}`));
    };

    // One upstream session per client connection, stable across that client's reconnects
    // (Jupyter replays buffered output to a reconnect with the same session_id).
    const clientSession = url.searchParams.get('session_id');
    url.searchParams.set(
      'session_id',
      clientSession
        ? createHash('sha256').update(`${chatId}\u0000${clientSession}`).digest('hex').slice(0, 32)
        : randomUUID(),
    );
    const upstreamUrl = new URL(url.pathname + url.search, options.gateway);
    upstreamUrl.protocol = options.gateway.protocol === 'https:' ? 'wss:' : 'ws:';

    const headers: Record<string, string> = {};
    for (const name of FORWARDED_HEADERS) {
      const value = req.headers[name];
      if (typeof value === 'string') headers[name] = value;
    }
    // A browser same-origin to the sidecar sends no Origin upstream (Jupyter then allows it);
    // a cross-origin one keeps its Origin for the gateway's allow_origin to judge.
    if (req.headers.origin && !sameOriginAsGateway(req.headers, options.gateway).origin)
      headers.origin = req.headers.origin;
    const offered = (req.headers['sec-websocket-protocol'] ?? '')
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean);

    const upstream = new WebSocket(upstreamUrl, offered, {
      headers,
      perMessageDeflate: false,
      handshakeTimeout: options.handshakeTimeoutMs,
      maxPayload,
    });
    upstreams.add(upstream);
    upstream.once('close', () => upstreams.delete(upstream));
    let settled = false;
    const abandon = () => {
      if (settled) return;
      settled = true;
      upstream.terminate();
      void workspace.release();
    };
    socket.once('close', abandon);

    upstream.once('unexpected-response', (_request, response) => {
      settled = true;
      refused(response.statusCode ?? 502);
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const body = Buffer.concat(chunks);
        const status = response.statusCode ?? 502;
        const contentType = response.headers['content-type'] ?? 'text/plain';
        writeRawResponse(socket, status, contentType, body, response.statusMessage ?? '');
        upstream.terminate();
      });
      response.on('error', () => socket.destroy());
    });
    upstream.once('error', (error: Error & { code?: string }) => {
      if (settled) return;
      settled = true;
      refused(0);
      const code = /timed out/i.test(error.message) ? 'ETIMEDOUT' : error.code;
      const failure = gatewayFailure(code);
      // ws's handshake timeout has no code: give it one, so it is logged in one line like the others.
      const known = code && !error.code ? { code, message: error.message } : error;
      options.logger.warn(`[sidecar] kernel ${kernelId} channels -> gateway: ${describeError(known)}`);
      refuseUpgrade(socket, { code: failure.code });
    });
    upstream.once('open', () => {
      settled = true;
      socket.off('close', abandon);
      workspace.commit();
      remember?.().catch((e) => options.logger.warn(`[sidecar] remembering kernel ${kernelId}: ${describeError(e)}`));
      if (socket.destroyed) return upstream.close(1001);
      if (upstream.protocol) req[UPSTREAM_PROTOCOL] = upstream.protocol;
      server.handleUpgrade(req, socket, head, (client) => {
        const tracker = new ExecutionTracker({
          chatId,
          kernelId,
          owner,
          observer: options.observer,
          timeoutMs: options.executionTimeoutMs,
          // The held first of reply and idle is released at the latest when a record wait would be.
          pairWaitMs: options.recordWaitMs,
          logger: options.logger,
        });
        const codec = upstream.protocol === V1_PROTOCOL ? v1Codec : legacyCodec;
        const { announce } = options;
        let silent: SilentExecutions | undefined;
        if (options.kernelChannels) {
          silent = new SilentExecutions(upstream, codec, silentIds);
          const detach = options.kernelChannels.attach(kernelId, silent);
          upstream.once('close', detach);
        }
        new KernelChannelRelay(client, upstream, {
          silent,
          codec,
          rewriter,
          tracker,
          announcer:
            announce && announce.mode !== 'off'
              ? new FileAnnouncer({
                  mode: announce.mode,
                  links: announce.links,
                  linkBase: announce.linkBase(req.headers.host),
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
      });
    });
  }

  /** Close every kernel connection: clients are told the sidecar is going away (1001). */
  function close(): void {
    for (const client of server.clients) client.close(1001, 'sidecar shutting down');
    for (const upstream of upstreams) upstream.close(1001);
    server.close();
  }

  return { handleUpgrade, close, connections: () => server.clients.size, framesInFlight: () => budget.inFlight };
}
