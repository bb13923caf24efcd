/**
 * Floors for any relay between a client and the gateway, each in a process of its own so its CPU
 * time can be read:
 * - a byte pipe: the TCP sockets piped both ways (TCP_NODELAY on both legs, nothing parsed), as
 *   configurable-http-proxy relays a WebSocket once upgraded. Bytes go on as they arrive.
 * - a message relay: `ws` on both sides, every message passed on whole and untouched, as the
 *   sidecar receives and sends them but with no decoding or rewriting. A message goes on only
 *   once it has all arrived (store and forward), which the sidecar must do to rewrite output.
 */
import { startScriptServer, type ScriptServer } from './script-server.ts';

const BYTE_PIPE = `
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

// The client's handshake waits for the gateway's, so the client gets the gateway's subprotocol.
const MESSAGE_RELAY = `
const { WebSocket, WebSocketServer } = require('ws');
const [host, port] = [process.argv[1], Number(process.argv[2])];
const server = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: 0,
  handleProtocols: (offered, req) => (req.upstreamProtocol && offered.has(req.upstreamProtocol) ? req.upstreamProtocol : false) });
const http = require('node:http').createServer();
http.on('upgrade', (req, socket, head) => {
  const offered = (req.headers['sec-websocket-protocol'] || '').split(',').map((p) => p.trim()).filter(Boolean);
  const upstream = new WebSocket('ws://' + host + ':' + port + req.url, offered, { perMessageDeflate: false, maxPayload: 0 });
  upstream.once('error', () => socket.destroy());
  upstream.once('open', () => {
    req.upstreamProtocol = upstream.protocol;
    server.handleUpgrade(req, socket, head, (client) => {
      upstream.on('message', (data, binary) => client.send(data, { binary }));
      client.on('message', (data, binary) => upstream.send(data, { binary }));
      client.on('close', () => upstream.close());
      upstream.on('close', () => client.close());
      client.on('error', () => upstream.terminate());
      upstream.on('error', () => client.terminate());
    });
  });
});
http.listen(0, '127.0.0.1', () => console.log(http.address().port));
`;

/** http://127.0.0.1:PORT/ : the gateway's paths, reached through the relay. */
export type FloorRelay = ScriptServer;

function startChild(script: string, target: URL): Promise<FloorRelay> {
  return startScriptServer('floor relay', script, [target.hostname, target.port]);
}

export function startBytePipe(target: URL): Promise<FloorRelay> {
  return startChild(BYTE_PIPE, target);
}

export function startMessageRelay(target: URL): Promise<FloorRelay> {
  return startChild(MESSAGE_RELAY, target);
}
