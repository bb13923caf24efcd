import http from 'node:http';
import { LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';

/**
 * The least an MCP client does over Streamable HTTP, as bench 13's direct arm is the least a
 * Jupyter client does over the kernel WebSocket: `initialize`, `notifications/initialized`, then
 * each `tools/call` a POST with the session and protocol headers on one keep-alive node:http
 * connection (TCP_NODELAY), its JSON answer parsed. No schema checks and no web Request or
 * Response objects, so a row timed with it shows what the sidecar and the protocol's round trip
 * add, and the SDK client's row beside it what that client adds on top.
 */
export class BareMcpClient {
  readonly #url: URL;
  readonly #headers: Record<string, string>;
  readonly #agent = new http.Agent({ keepAlive: true, noDelay: true, maxSockets: 1 });
  #nextId = 1;

  private constructor(url: URL, headers: Record<string, string>) {
    this.#url = url;
    this.#headers = {
      ...headers,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
    };
  }

  static async open(sidecarUrl: string, headers: Record<string, string>): Promise<BareMcpClient> {
    const client = new BareMcpClient(new URL('mcp', sidecarUrl), headers);
    const init = await client.#post({
      jsonrpc: '2.0',
      id: client.#nextId++,
      method: 'initialize',
      params: {
        protocolVersion: LATEST_PROTOCOL_VERSION,
        capabilities: {},
        clientInfo: { name: 'bench-bare', version: '1' },
      },
    });
    const sessionId = init.headers['mcp-session-id'];
    if (typeof sessionId !== 'string') throw new Error('initialize gave no Mcp-Session-Id');
    client.#headers['mcp-session-id'] = sessionId;
    client.#headers['mcp-protocol-version'] = LATEST_PROTOCOL_VERSION;
    await client.#post({ jsonrpc: '2.0', method: 'notifications/initialized' });
    return client;
  }

  async callTool(name: string, args: Record<string, unknown>): Promise<CallToolResult> {
    const { body } = await this.#post({
      jsonrpc: '2.0',
      id: this.#nextId++,
      method: 'tools/call',
      params: { name, arguments: args },
    });
    const message = body as { result?: CallToolResult; error?: { message: string } };
    if (!message.result) throw new Error(`tools/call ${name}: ${message.error?.message ?? 'no result'}`);
    return message.result;
  }

  close(): void {
    this.#agent.destroy();
  }

  #post(message: Record<string, unknown>): Promise<{ headers: http.IncomingHttpHeaders; body: unknown }> {
    const payload = JSON.stringify(message);
    return new Promise((resolve, reject) => {
      const request = http.request(
        this.#url,
        {
          method: 'POST',
          agent: this.#agent,
          headers: { ...this.#headers, 'content-length': Buffer.byteLength(payload) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', reject);
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            if (res.statusCode === 202) return resolve({ headers: res.headers, body: null });
            if (res.statusCode !== 200) return reject(new Error(`POST /mcp: ${res.statusCode} ${text}`));
            try {
              resolve({ headers: res.headers, body: JSON.parse(text) });
            } catch {
              reject(new Error(`POST /mcp: not JSON: ${text.slice(0, 200)}`));
            }
          });
        },
      );
      request.on('error', reject);
      request.end(payload);
    });
  }
}
