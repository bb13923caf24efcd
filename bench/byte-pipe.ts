/**
 * The floor for any relay: a bare Node TCP pipe in a process of its own, between a client and the
 * gateway, as configurable-http-proxy relays a WebSocket once upgraded (sockets piped both ways,
 * TCP_NODELAY on both legs, nothing parsed). Its CPU time per MB is what reading and writing
 * every byte costs, before any decoding or rewriting.
 */
import { spawn } from 'node:child_process';

const PIPE = `
const net = require('node:net');
const [host, port] = [process.argv[1], Number(process.argv[2])];
const server = net.createServer({ noDelay: true }, (client) => {
  const upstream = net.connect({ host, port, noDelay: true });
  const drop = () => { client.destroy(); upstream.destroy(); };
  client.on('error', drop);
  upstream.on('error', drop);
  client.on('close', drop);
  upstream.on('close', drop);
  client.pipe(upstream);
  upstream.pipe(client);
});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
`;

export interface BytePipe {
  /** http://127.0.0.1:PORT/ : the gateway's paths, reached through the pipe. */
  url: string;
  pid: number;
  close(): Promise<void>;
}

export async function startBytePipe(target: URL): Promise<BytePipe> {
  const child = spawn(process.execPath, ['-e', PIPE, target.hostname, target.port], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<string>((resolve, reject) => {
    child.stdout!.once('data', (chunk: Buffer) => resolve(chunk.toString().trim()));
    child.once('exit', (code) => reject(new Error(`byte pipe exited (${code})`)));
  });
  return {
    url: `http://127.0.0.1:${port}/`,
    pid: child.pid!,
    async close() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
