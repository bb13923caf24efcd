/**
 * A tiny TCP round-robin balancer on 127.0.0.1, as a layer-4 load balancer in front of several
 * sidecars would be: each new TCP connection goes to the next backend, bytes are piped both ways
 * untouched (HTTP and WebSocket upgrades alike), and nothing is parsed. A WebSocket stays on the
 * sidecar its connection landed on; a keep-alive HTTP client keeps its backend until it reconnects.
 */
import net from 'node:net';

export interface RoundRobinBalancer {
  /** http://127.0.0.1:PORT/ */
  url: string;
  /** Connections handed to each backend so far, in the order the backends were given. */
  readonly connections: readonly number[];
  /** Connections that could not reach their backend (the client was dropped). */
  readonly upstreamErrors: number;
  close(): Promise<void>;
}

export async function startRoundRobinBalancer(backends: readonly URL[]): Promise<RoundRobinBalancer> {
  if (backends.length === 0) throw new Error('the balancer needs at least one backend');
  const connections = backends.map(() => 0);
  let upstreamErrors = 0;
  let next = 0;
  const open = new Set<net.Socket>();
  // noDelay on both legs: the balancer must not add its own Nagle wait to small kernel messages.
  const server = net.createServer({ noDelay: true }, (client) => {
    const index = next;
    next = (next + 1) % backends.length;
    connections[index]!++;
    const backend = backends[index]!;
    const upstream = net.connect({ host: backend.hostname, port: Number(backend.port), noDelay: true });
    let connected = false;
    upstream.once('connect', () => (connected = true));
    open.add(client);
    open.add(upstream);
    // Either side going away ends the pair; a reset is not the bench's error to report here,
    // the client sees its socket close and counts it.
    const drop = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop);
    upstream.on('error', () => {
      if (!connected) upstreamErrors++;
      drop();
    });
    client.once('close', () => {
      open.delete(client);
      upstream.destroy();
    });
    upstream.once('close', () => {
      open.delete(upstream);
      client.destroy();
    });
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    connections,
    get upstreamErrors() {
      return upstreamErrors;
    },
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of open) socket.destroy();
      await closed;
    },
  };
}
