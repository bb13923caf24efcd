import { randomUUID } from 'node:crypto';
import http, { type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import WebSocket, { WebSocketServer } from 'ws';
import { packV1, unpackV1, V1_PROTOCOL } from '../../proxy/wire/wire-v1.ts';

/** What a channels handler learns about the connection it got. */
export interface ChannelsInfo {
  kernelId: string;
  /** `v1.kernel.websocket.jupyter.org` or '' (legacy). */
  protocol: string;
  url: string;
  headers: IncomingMessage['headers'];
}

export type ChannelsHandler = (socket: WebSocket, info: ChannelsInfo) => void;

export interface FakeGatewayOptions {
  port?: number;
  /** Every HTTP answer and WebSocket handshake waits this long (a slow gateway). */
  delayMs?: number;
  /** A real gateway to pass REST and channels through to; without it the kernels are fake. */
  forwardTo?: string;
  /** Offer the v1 subprotocol when the client does (default true). */
  v1?: boolean;
}

export interface FakeGateway {
  url: string;
  port: number;
  server: Server;
  /** Every HTTP request it got (bodies of POST /api/kernels included). */
  requests: Array<{ method: string; url: string; headers: IncomingMessage['headers']; body: string }>;
  /** Channel sockets currently open on the gateway side. */
  readonly sockets: Set<WebSocket>;
  /** Replaces what a channels connection does; null goes back to the default (relay or fake kernel). */
  onChannels: ChannelsHandler | null;
  delayMs: number;
  /** Resolves once every request and handshake it got so far has had its (delayed) answer. */
  settled(): Promise<void>;
  close(): Promise<void>;
}

/**
 * A small gateway for fault tests, so the tests control what the sidecar sees: delays, garbage
 * frames, a relay to a real Jupyter Server that can be tampered with, or (without `forwardTo`)
 * kernels that speak just enough of the protocol to answer execute_request in either wire format.
 */
export async function startFakeGateway(options: FakeGatewayOptions = {}): Promise<FakeGateway> {
  const kernels = new Set<string>();
  const sockets = new Set<WebSocket>();
  const rawSockets = new Set<Socket>();
  const upstream = options.forwardTo ? new URL(options.forwardTo) : null;
  const offerV1 = options.v1 ?? true;
  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    handleProtocols: (offered) => (offerV1 && offered.has(V1_PROTOCOL) ? V1_PROTOCOL : false),
  });

  let inFlight = 0;
  const whenSettled: Array<() => void> = [];
  const track = async <T>(work: () => Promise<T>): Promise<T> => {
    inFlight++;
    try {
      return await work();
    } finally {
      if (--inFlight === 0) for (const resolve of whenSettled.splice(0)) resolve();
    }
  };

  const gateway: FakeGateway = {
    url: '',
    port: 0,
    server: undefined as unknown as Server,
    requests: [],
    sockets,
    onChannels: null,
    delayMs: options.delayMs ?? 0,
    settled: () => (inFlight === 0 ? Promise.resolve() : new Promise<void>((resolve) => whenSettled.push(resolve))),
    async close() {
      for (const socket of sockets) socket.terminate();
      wss.close();
      server.closeAllConnections();
      for (const socket of rawSockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };

  const delay = () => (gateway.delayMs > 0 ? new Promise((r) => setTimeout(r, gateway.delayMs)) : Promise.resolve());

  const server = http.createServer((req, res) =>
    track(async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const body = Buffer.concat(chunks);
      gateway.requests.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: body.toString('utf8'),
      });
      await delay();
      if (res.destroyed) return;
      if (upstream) return forward(upstream, req, body, res);
      answerFakeRest(req, body, res, kernels);
    }),
  );
  server.on('connection', (socket) => {
    rawSockets.add(socket);
    socket.once('close', () => rawSockets.delete(socket));
  });
  server.on('upgrade', async (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    const url = new URL(req.url ?? '/', 'http://gateway.invalid');
    const match = /^\/api\/kernels\/([^/]+)\/channels$/.exec(url.pathname);
    await track(delay);
    if (!match || (!upstream && !kernels.has(match[1]!))) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      sockets.add(ws);
      ws.once('close', () => sockets.delete(ws));
      ws.on('error', () => {});
      const info: ChannelsInfo = {
        kernelId: match[1]!,
        protocol: ws.protocol,
        url: req.url ?? '',
        headers: req.headers,
      };
      if (gateway.onChannels) gateway.onChannels(ws, info);
      else if (upstream) relayChannels(ws, upstream, info);
      else answerFakeKernel(ws, info);
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  gateway.server = server;
  gateway.port = port;
  gateway.url = `http://127.0.0.1:${port}/`;
  return gateway;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = status === 204 ? '' : JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function answerFakeRest(req: IncomingMessage, _body: Buffer, res: ServerResponse, kernels: Set<string>): void {
  const { pathname } = new URL(req.url ?? '/', 'http://gateway.invalid');
  const kernel = /^\/api\/kernels\/([^/]+)$/.exec(pathname);
  if (req.method === 'GET' && pathname === '/api') return json(res, 200, { version: 'fake' });
  if (req.method === 'POST' && pathname === '/api/kernels') {
    const id = randomUUID();
    kernels.add(id);
    return json(res, 201, {
      id,
      name: 'python3',
      last_activity: new Date().toISOString(),
      execution_state: 'starting',
      connections: 0,
    });
  }
  if (req.method === 'GET' && pathname === '/api/kernels')
    return json(
      res,
      200,
      [...kernels].map((id) => ({ id, name: 'python3' })),
    );
  if (kernel && req.method === 'GET')
    return kernels.has(kernel[1]!)
      ? json(res, 200, { id: kernel[1], name: 'python3' })
      : json(res, 404, { message: 'no such kernel' });
  if (kernel && req.method === 'DELETE')
    return kernels.delete(kernel[1]!) ? json(res, 204, null) : json(res, 404, { message: 'no such kernel' });
  json(res, 404, { message: 'not found' });
}

function forward(upstream: URL, req: IncomingMessage, body: Buffer, res: ServerResponse): void {
  const out = http.request(
    {
      host: upstream.hostname,
      port: upstream.port,
      method: req.method,
      path: req.url,
      headers: { ...req.headers, host: upstream.host },
      agent: false,
    },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    },
  );
  out.on('error', () => res.destroy());
  out.end(body);
}

/** Passes every frame both ways untouched, to the real gateway behind. */
export function relayChannels(client: WebSocket, upstream: URL, info: ChannelsInfo): void {
  const target = new URL(info.url, upstream);
  target.protocol = 'ws:';
  const real = new WebSocket(target, info.protocol ? [info.protocol] : [], { perMessageDeflate: false });
  const pending: Array<{ data: Buffer; binary: boolean }> = [];
  real.on('error', () => client.terminate());
  real.on('open', () => {
    for (const frame of pending.splice(0)) real.send(frame.data, { binary: frame.binary });
  });
  real.on('message', (data: Buffer, binary) => client.readyState === client.OPEN && client.send(data, { binary }));
  client.on('message', (data: Buffer, binary) => {
    if (real.readyState === real.OPEN) real.send(data, { binary });
    else pending.push({ data, binary });
  });
  real.on('close', () => client.readyState === client.OPEN && client.close(1000));
  client.on('close', () => (real.readyState === real.OPEN || real.readyState === real.CONNECTING) && real.terminate());
}

interface Message {
  channel: string;
  header: Record<string, unknown>;
  content: Record<string, unknown>;
}

export function decodeClientFrame(data: Buffer, binary: boolean, protocol: string): Message | null {
  try {
    if (protocol === V1_PROTOCOL) {
      const parts = unpackV1(data);
      return {
        channel: parts[0]!.toString(),
        header: JSON.parse(parts[1]!.toString()),
        content: JSON.parse(parts[4]!.toString()),
      };
    }
    if (binary) return null;
    const message = JSON.parse(data.toString('utf8'));
    return { channel: message.channel, header: message.header, content: message.content };
  } catch {
    return null;
  }
}

/** Encode one kernel message in the connection's wire format. */
export function encodeKernelMessage(
  protocol: string,
  channel: string,
  msgType: string,
  content: Record<string, unknown>,
  parent: Record<string, unknown>,
): { data: Buffer | string; binary: boolean } {
  const header = {
    msg_id: randomUUID(),
    msg_type: msgType,
    session: 'fake-kernel',
    username: 'kernel',
    date: new Date().toISOString(),
    version: '5.3',
  };
  if (protocol === V1_PROTOCOL) {
    const part = (value: unknown) => Buffer.from(JSON.stringify(value));
    return { data: packV1([Buffer.from(channel), part(header), part(parent), part({}), part(content)]), binary: true };
  }
  const message = {
    header,
    parent_header: parent,
    metadata: {},
    content,
    channel,
    msg_id: header.msg_id,
    msg_type: msgType,
    buffers: [],
  };
  return { data: JSON.stringify(message), binary: false };
}

/**
 * Just enough of a kernel: execute_request gets status busy, a stream echoing the code (as the
 * kernel got it), execute_reply and status idle, each on its channel with the request as parent;
 * kernel_info_request a reply.
 */
export function answerFakeKernel(socket: WebSocket, info: ChannelsInfo): void {
  let count = 0;
  const send = (
    channel: string,
    msgType: string,
    content: Record<string, unknown>,
    parent: Record<string, unknown>,
  ) => {
    if (socket.readyState !== socket.OPEN) return;
    const frame = encodeKernelMessage(info.protocol, channel, msgType, content, parent);
    socket.send(frame.data, { binary: frame.binary });
  };
  socket.on('message', (data: Buffer, binary) => {
    const message = decodeClientFrame(data, binary, info.protocol);
    if (!message) return;
    const parent = message.header;
    if (parent.msg_type === 'kernel_info_request') {
      send('shell', 'kernel_info_reply', { status: 'ok', protocol_version: '5.3', implementation: 'fake' }, parent);
    } else if (parent.msg_type === 'execute_request') {
      count++;
      send('iopub', 'status', { execution_state: 'busy' }, parent);
      send('iopub', 'stream', { name: 'stdout', text: `${String(message.content.code)}\n` }, parent);
      send('shell', 'execute_reply', { status: 'ok', execution_count: count, user_expressions: {} }, parent);
      send('iopub', 'status', { execution_state: 'idle' }, parent);
    }
  });
}
