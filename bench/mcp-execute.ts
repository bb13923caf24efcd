/**
 * Scenario 13: execute_code through the sidecar's MCP server against a direct Jupyter client, on
 * the Jupyter Server patched to TCP_NODELAY (so no delayed-ACK stall hides what MCP adds): a `1+1`
 * round trip on a warm kernel, the first call in a new chat (kernel start included) against a
 * direct kernel start and first execution, and twenty chats calling at once.
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { connectMcp, execute, textOf } from '../test/support/mcp-client.ts';
import type { RawKernelClient } from '../test/support/raw-kernel-client.ts';
import { BareMcpClient } from './bare-mcp-client.ts';
import { connectTo, startBenchBed, startKernel, type BenchBed } from './bench-bed.ts';
import { nodeHttpFetch } from './node-http-fetch.ts';
import { medianRow, type ResultRow, type ScenarioResult } from './results-table.ts';
import { alternate, roundRobin, signedMs, summarize, timed } from './stats.ts';

const SCENARIO = '13 MCP execute_code';

/** The MCP clients' HTTP leg: one keep-alive agent with TCP_NODELAY, like the direct arm's `ws` socket. */
const keptAlive = nodeHttpFetch();

/** The official SDK client for `chat`, over node:http (default) or Node's built-in fetch (`fetch`: undefined). */
async function mcpFor(bench: BenchBed, chat: string, fetch: FetchLike | undefined = keptAlive): Promise<Client> {
  return connectMcp(bench.sidecarUrl, { 'x-chat-id': chat }, undefined, fetch);
}

function expectTwo(result: CallToolResult): void {
  if (result.isError || !/^2$/m.test(textOf(result))) throw new Error(`1+1 through MCP: ${textOf(result)}`);
}

async function mcpOnePlusOne(client: Client): Promise<void> {
  expectTwo(await execute(client, '1+1'));
}

async function bareOnePlusOne(client: BareMcpClient): Promise<void> {
  expectTwo(await client.callTool('execute_code', { code: '1+1' }));
}

async function directOnePlusOne(client: RawKernelClient): Promise<void> {
  const result = await client.execute('1+1');
  if (result.reply?.content.status !== 'ok') throw new Error(`1+1 failed: ${JSON.stringify(result.reply?.content)}`);
}

async function gatewayKernels(bench: BenchBed): Promise<string[]> {
  const res = await fetch(`${bench.gatewayUrl}api/kernels?token=${bench.token}`);
  return ((await res.json()) as { id: string }[]).map((k) => k.id);
}

async function shutDownAll(bench: BenchBed, ids: readonly string[]): Promise<void> {
  await Promise.all(
    ids.map((id) =>
      fetch(`${bench.gatewayUrl}api/kernels/${id}?token=${bench.token}`, { method: 'DELETE' }).catch(() => {}),
    ),
  );
}

/**
 * A warm `1+1`, seven ways round robin, each on a warm kernel of its own started the same way (the
 * gateway's default kernel, at the gateway or through the sidecar): a direct client at the gateway;
 * a plain Jupyter client through the sidecar's relay (what the relay itself adds: rewriting, the
 * before and after scans, the held reply); `execute_code` through MCP; an MCP `ping` (the HTTP
 * and SDK round trip alone, no kernel), so the MCP cost can be read beside the relay's; and
 * `execute_code` and `ping` by the same SDK client on Node's built-in fetch (what that HTTP client
 * costs); and `execute_code` by a bare JSON-RPC client (what the SDK client costs).
 */
async function roundTrip(
  bench: BenchBed,
  runs: number,
): Promise<{ rows: ResultRow[]; pingMedian: number; fetchPingMedian: number }> {
  const mcp = await mcpFor(bench, 'bench-mcp-roundtrip');
  await mcpOnePlusOne(mcp); // starts the chat's kernel
  const mcpOnFetch = await mcpFor(bench, 'bench-mcp-fetch', undefined);
  await mcpOnePlusOne(mcpOnFetch);
  const bare = await BareMcpClient.open(bench.sidecarUrl, { 'x-chat-id': 'bench-mcp-bare' });
  await bareOnePlusOne(bare);
  const kernel = await startKernel(bench, 'direct');
  const direct = await kernel.connect();
  const relayed = await startKernel(bench, 'sidecar', 'bench-mcp-relay');
  const relay = await relayed.connect();
  try {
    const [d, r, m, p, f, fp, b] = await roundRobin(runs, 20, [
      () => timed(() => directOnePlusOne(direct)),
      () => timed(() => directOnePlusOne(relay)),
      () => timed(() => mcpOnePlusOne(mcp)),
      () => timed(() => mcp.ping()),
      () => timed(() => mcpOnePlusOne(mcpOnFetch)),
      () => timed(() => mcpOnFetch.ping()),
      () => timed(() => bareOnePlusOne(bare)),
    ]);
    /** A row of two arms' medians, with the milliseconds the second adds to the first. */
    const addedRow = (
      metric: string,
      pair: { a: number[]; b: number[] },
      goalText = 'report',
      pass: (sidecar: number, direct: number) => boolean | null = () => null,
    ) => {
      const row = medianRow(SCENARIO, metric, pair, goalText, pass);
      row.detail = signedMs(row.sidecar.median - row.direct.median);
      return row;
    };
    const goal = addedRow(
      `\`1+1\` round trip, ${runs} runs (warm kernel)`,
      { a: d!, b: m! },
      'added ≤ 3 ms',
      (s, base) => s - base <= 3,
    );
    const throughRelay = addedRow(`\`1+1\` by a Jupyter client through the sidecar's relay, against direct`, {
      a: d!,
      b: r!,
    });
    const overRelay = addedRow(`\`1+1\` through MCP, against a Jupyter client through the relay`, { a: r!, b: m! });
    const onFetch = addedRow(`\`1+1\` through MCP by the SDK client on Node's built-in fetch, against direct`, {
      a: d!,
      b: f!,
    });
    const byBare = addedRow(`\`1+1\` through MCP by a bare JSON-RPC client (no SDK), against direct`, {
      a: d!,
      b: b!,
    });
    return {
      rows: [goal, throughRelay, overRelay, byBare, onFetch],
      pingMedian: summarize(p!).median,
      fetchPingMedian: summarize(fp!).median,
    };
  } finally {
    await relay.close();
    await relayed.shutdown();
    await direct.close();
    await kernel.shutdown();
    await mcp.close();
    await mcpOnFetch.close();
    bare.close();
  }
}

async function firstCall(bench: BenchBed, runs: number): Promise<ResultRow> {
  const before = new Set(await gatewayKernels(bench));
  let n = 0;
  const samples = await alternate(
    runs,
    0,
    async () => {
      let client: RawKernelClient | undefined;
      let id = '';
      const ms = await timed(async () => {
        const kernel = await startKernel(bench, 'direct');
        id = kernel.id;
        client = await kernel.connect();
        await directOnePlusOne(client);
      });
      await client?.close();
      await shutDownAll(bench, [id]);
      return ms;
    },
    async () => {
      const client = await mcpFor(bench, `bench-mcp-first-${n++}`);
      const ms = await timed(() => mcpOnePlusOne(client));
      await client.close();
      return ms;
    },
  );
  await shutDownAll(
    bench,
    (await gatewayKernels(bench)).filter((id) => !before.has(id)),
  );
  return medianRow(
    SCENARIO,
    `first call in a new chat (kernel start + \`1+1\`), ${runs} runs`,
    samples,
    'ratio ≤ 1.1',
    (s, d) => s / d <= 1.1,
  );
}

async function crowd(bench: BenchBed, rounds: number, chats: number): Promise<ResultRow> {
  const before = new Set(await gatewayKernels(bench));
  const clients = await Promise.all(Array.from({ length: chats }, (_, i) => mcpFor(bench, `bench-mcp-crowd-${i}`)));
  await Promise.all(clients.map(mcpOnePlusOne));
  const ids = (await gatewayKernels(bench)).filter((id) => !before.has(id));
  // The same kernels, each with a direct client of its own: only the path differs.
  const direct = await Promise.all(ids.map((id) => connectTo(bench, id, 'direct', null)));
  try {
    const perSecond = (ms: number) => (chats * 1000) / ms;
    const samples = await alternate(
      rounds,
      2,
      async () => perSecond(await timed(() => Promise.all(direct.map(directOnePlusOne)))),
      async () => perSecond(await timed(() => Promise.all(clients.map(mcpOnePlusOne)))),
    );
    const d = summarize(samples.a);
    const s = summarize(samples.b);
    return {
      scenario: SCENARIO,
      metric: `${chats} chats at once, \`1+1\` each, ${rounds} rounds`,
      unit: 'executions/s',
      direct: d,
      sidecar: s,
      ratio: s.median / d.median,
      goal: 'no errors; report',
      pass: true,
    };
  } finally {
    await Promise.all(direct.map((c) => c.close()));
    await Promise.all(clients.map((c) => c.close()));
    await shutDownAll(bench, ids);
  }
}

export async function benchMcpExecute(quick: boolean): Promise<ScenarioResult> {
  const bench = await startBenchBed({ quick, nodelay: true, mcp: true });
  try {
    const warm = await roundTrip(bench, quick ? 50 : 200);
    const rows = [...warm.rows, await firstCall(bench, quick ? 3 : 8), await crowd(bench, quick ? 3 : 10, 20)];
    return {
      rows,
      notes: [
        "A Jupyter Server patched to TCP_NODELAY (bench/jupyter-nodelay.ts) and the compiled sidecar with --mcp. MCP: the official SDK client (Streamable HTTP) calling execute_code with X-Chat-Id, its HTTP leg on node:http with one keep-alive agent and TCP_NODELAY (bench/node-http-fetch.ts); direct: a legacy-format WebSocket client (ws: one kept connection, TCP_NODELAY too) straight to the gateway; relay: the same client through the sidecar's channels route under a chat prefix. The MCP path runs through the same relay as any client (rewriting, tracking, the before and after workspace scans), joined in process, plus the HTTP round trip of the tool call and the SDK's work on both ends.",
        `Warm round trips: seven arms round robin in one loop, each on its own warm kernel started the same way (the bare JSON-RPC client's, bench/bare-mcp-client.ts: initialize, then each tools/call one POST on a keep-alive node:http connection with TCP_NODELAY, its JSON parsed, no schema checks). An MCP \`ping\` (the HTTP and SDK round trip with no kernel) took ${warm.pingMedian.toFixed(2)} ms median; the same SDK client on Node's built-in fetch (undici's WHATWG fetch, what the SDK uses by default) took ${warm.fetchPingMedian.toFixed(2)} ms for a ping, and its \`1+1\` row shows what that HTTP client costs a host written that way.`,
        'First call: direct is POST /api/kernels at the gateway, connect, `1+1`; MCP is the first execute_code of a new chat (the MCP session already open), which creates the kernel through the sidecar and runs `1+1`. Alternated, one at a time.',
        "Twenty chats: the same 20 kernels for both arms (each started by its chat's first MCP call), each with a direct client too; every round runs `1+1` in all 20 at once. Any error fails the run.",
      ],
    };
  } finally {
    await bench.stop();
  }
}
