/**
 * Floors for any relay between a client and the gateway, each in a process of its own so its CPU
 * time can be read:
 * - a byte pipe: the TCP sockets piped both ways (TCP_NODELAY on both legs, nothing parsed), as
 *   configurable-http-proxy relays a WebSocket once upgraded. Bytes go on as they arrive.
 * - a message relay: `ws` on both sides, every message passed on whole and untouched, as the
 *   sidecar receives and sends them but with no decoding or rewriting. A message goes on only
 *   once it has all arrived (store and forward), which the sidecar must do to rewrite output.
 * - a frame relay: the byte pipe, except that output is held until each WebSocket frame has all
 *   arrived and each is searched for a workspace path, as the sidecar does, with frames parsed
 *   on the raw socket instead of by `ws`. What leaving `ws` for output could reach at best: it
 *   does nothing else (no fragments, close handshake, control frames, limits or UTF-8 checks).
 */
import { startScriptServer, type ScriptServer } from './script-server.ts';

/** Both floors that work on the raw sockets: a client's socket paired with one to the gateway. */
const PAIRED_SOCKETS = `
const net = require('node:net');
const [host, port] = [process.argv[1], Number(process.argv[2])];
function paired(client) {
  const upstream = net.connect({ host, port, noDelay: true });
  const drop = () => { client.destroy(); upstream.destroy(); };
  client.on('error', drop);
  upstream.on('error', drop);
  client.on('close', drop);
  upstream.on('close', drop);
  client.pipe(upstream);
  return upstream;
}
`;

const BYTE_PIPE = `${PAIRED_SOCKETS}
const server = net.createServer({ noDelay: true }, (client) => paired(client).pipe(client));
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

// Gateway to client: the HTTP answer passes, then complete frames go on, all those of a read in
// one write; a frame's bytes are joined once, when the last of them arrives.
const FRAME_RELAY = `${PAIRED_SOCKETS}
const NEEDLE = Buffer.from('/srv/sidecar/workspaces/bench-output/');
let matches = 0;
function frameLength(buf, off) {
  if (buf.length - off < 2) return -1;
  let length = buf[off + 1] & 127;
  let header = buf[off + 1] & 128 ? 6 : 2;
  if (length === 126) {
    if (buf.length - off < 4) return -1;
    length = buf.readUInt16BE(off + 2);
    header += 2;
  } else if (length === 127) {
    if (buf.length - off < 10) return -1;
    length = Number(buf.readBigUInt64BE(off + 2));
    header += 8;
  }
  return header + length;
}
const server = net.createServer({ noDelay: true }, (client) => {
  const upstream = paired(client);
  let head = true;
  let chunks = [];
  let buffered = 0;
  let frameEnd = 0;
  upstream.on('data', (chunk) => {
    if (head) {
      const end = chunk.indexOf('\\r\\n\\r\\n');
      if (end < 0) return void client.write(chunk);
      client.write(chunk.subarray(0, end + 4));
      head = false;
      chunk = chunk.subarray(end + 4);
      if (chunk.length === 0) return;
    }
    chunks.push(chunk);
    buffered += chunk.length;
    if (frameEnd > 0 && buffered < frameEnd) return;
    const buf = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, buffered);
    let off = 0;
    for (;;) {
      const length = frameLength(buf, off);
      if (length < 0 || buf.length - off < length) {
        frameEnd = Math.max(length, 0);
        break;
      }
      // Not found here: each frame would go on unchanged, as most of the sidecar's do.
      if (buf.subarray(off, off + length).includes(NEEDLE)) matches++;
      off += length;
    }
    if (off > 0) client.write(off === buf.length ? buf : buf.subarray(0, off));
    chunks = off < buf.length ? [buf.subarray(off)] : [];
    buffered = buf.length - off;
  });
});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
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

export function startFrameRelay(target: URL): Promise<FloorRelay> {
  return startChild(FRAME_RELAY, target);
}
