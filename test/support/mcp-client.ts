import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';

/** The official SDK's client on the sidecar's /mcp, with the headers a host would send. */
export async function connectMcp(
  sidecarUrl: string,
  headers: Record<string, string> = {},
  /** Carry on an MCP session opened elsewhere (as a host does after reaching another sidecar). */
  sessionId?: string,
  /** The transport's HTTP client; Node's built-in fetch by default. */
  fetch?: FetchLike,
): Promise<Client> {
  const client = new Client({ name: 'sidecar-test', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL('mcp', sidecarUrl), {
    requestInit: { headers },
    sessionId,
    fetch,
  });
  // Given a session id, the SDK's client skips initialize: the session is already open.
  await client.connect(transport);
  return client;
}

/** The MCP session id the sidecar gave this client. */
export function sessionIdOf(client: Client): string | undefined {
  return (client.transport as StreamableHTTPClientTransport | undefined)?.sessionId;
}

/** The text parts of a tool result, joined. */
export function textOf(result: CallToolResult): string {
  return result.content
    .filter((c) => c.type === 'text')
    .map((c) => (c as { text: string }).text)
    .join('\n');
}

export async function execute(client: Client, code: string): Promise<CallToolResult> {
  return (await client.callTool({ name: 'execute_code', arguments: { code } })) as CallToolResult;
}

export type ResourceLinkContent = Extract<CallToolResult['content'][number], { type: 'resource_link' }>;

export function linksOf(result: CallToolResult): ResourceLinkContent[] {
  return result.content.filter((c): c is ResourceLinkContent => c.type === 'resource_link');
}
