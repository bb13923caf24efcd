/**
 * Scenario 6: many connections through one sidecar. 200 WebSocket connections (each its own
 * session) spread over a few real kernels, each executing `1+1` in a loop for a bounded time;
 * the same connections' twins go straight to the gateway. Phases alternate: all direct, all
 * through the sidecar, and again.
 */
import { connectTo, startKernel, type BenchBed, type BenchKernel } from './bench-bed.ts';
import type { ScenarioResult } from './results-table.ts';
import { signedMs, summarize } from './stats.ts';
import type { RawKernelClient } from '../test/support/raw-kernel-client.ts';

interface PhaseResult {
  roundTrips: number[];
  errors: string[];
  executions: number;
  seconds: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Every client executes, pauses a random think time, and again, until the deadline. The first
 * execution starts after a random part of a think time, so the load is spread, not in waves.
 */
async function phase(clients: RawKernelClient[], durationMs: number, thinkMs: [number, number]): Promise<PhaseResult> {
  const roundTrips: number[] = [];
  const errors: string[] = [];
  const start = performance.now();
  const deadline = start + durationMs;
  const think = () => thinkMs[0] + Math.random() * (thinkMs[1] - thinkMs[0]);
  await Promise.all(
    clients.map(async (client) => {
      await sleep(Math.random() * think());
      while (performance.now() < deadline) {
        const t = performance.now();
        try {
          const result = await client.execute('1+1', { timeoutMs: 30_000 });
          if (result.reply?.content.status !== 'ok') errors.push(`reply ${String(result.reply?.content.status)}`);
          else roundTrips.push(performance.now() - t);
        } catch (error) {
          errors.push(error instanceof Error ? error.message : String(error));
        }
        client.received.length = 0;
        const pause = think();
        if (performance.now() + pause >= deadline) break;
        await sleep(pause);
      }
    }),
  );
  return { roundTrips, errors, executions: roundTrips.length, seconds: (performance.now() - start) / 1000 };
}

export async function benchManyKernels(bench: BenchBed): Promise<ScenarioResult> {
  const connections = bench.quick ? 50 : 200;
  const kernelCount = bench.quick ? 5 : 20;
  const durationMs = bench.quick ? 8000 : 20_000;
  const rounds = bench.quick ? 1 : 2;
  // What this Jupyter Server can carry: every execution's IOPub goes to every connection of its
  // kernel, and the server relays ~1,300 messages/s in all (scenario 2).
  const thinkMs: [number, number] = [5000, 10_000];
  const kernels: BenchKernel[] = [];
  const socketErrors: string[] = [];
  const open: RawKernelClient[] = [];
  /** Opens one side's connections, runs a phase, closes them (both sides open at once exceed the gateway's ZeroMQ socket limit). */
  const run = async (side: 'direct' | 'sidecar', ms: number): Promise<PhaseResult> => {
    const clients: RawKernelClient[] = [];
    for (let i = 0; i < connections; i += 20) {
      const batch = await Promise.allSettled(
        Array.from({ length: Math.min(20, connections - i) }, (_, j) => {
          const kernel = kernels[(i + j) % kernelCount]!;
          return connectTo(bench, kernel.id, side, kernel.chatId);
        }),
      );
      for (const result of batch) {
        if (result.status === 'rejected') socketErrors.push(`${side} connect: ${String(result.reason)}`);
        else {
          const c = result.value;
          c.ws.on('error', (e) => socketErrors.push(`${side} socket: ${e.message}`));
          c.ws.on('close', (code) => code !== 1000 && code !== 1005 && socketErrors.push(`${side} closed ${code}`));
          clients.push(c);
          open.push(c);
        }
      }
    }
    try {
      return await phase(clients, ms, thinkMs);
    } finally {
      await Promise.all(clients.map((c) => c.close()));
      open.splice(0, open.length, ...open.filter((c) => !clients.includes(c)));
    }
  };
  try {
    for (let k = 0; k < kernelCount; k += 5) {
      const batch = Array.from({ length: Math.min(5, kernelCount - k) }, (_, i) =>
        startKernel(bench, 'sidecar', `bench-many-${k + i}`),
      );
      kernels.push(...(await Promise.all(batch)));
    }
    // Warm both paths (first executions in a kernel are slower).
    await run('direct', thinkMs[1]);
    await run('sidecar', thinkMs[1]);
    const results = { direct: [] as PhaseResult[], sidecar: [] as PhaseResult[] };
    for (let r = 0; r < rounds; r++) {
      results.direct.push(await run('direct', durationMs));
      results.sidecar.push(await run('sidecar', durationMs));
    }
    const merge = (list: PhaseResult[]) => ({
      roundTrips: list.flatMap((p) => p.roundTrips),
      errors: list.flatMap((p) => p.errors),
      rate: list.reduce((n, p) => n + p.executions, 0) / list.reduce((n, p) => n + p.seconds, 0),
    });
    const d = merge(results.direct);
    const s = merge(results.sidecar);
    const dRt = summarize(d.roundTrips);
    const sRt = summarize(s.roundTrips);
    const sidecarErrors = s.errors.length + socketErrors.filter((e) => e.startsWith('sidecar')).length;
    const directErrors = d.errors.length + socketErrors.filter((e) => e.startsWith('direct')).length;
    const label = `${connections} connections on ${kernelCount} kernels`;
    return {
      rows: [
        {
          scenario: '6 many kernels',
          metric: `${label}: round trip (${dRt.count} / ${sRt.count} executions)`,
          unit: 'ms',
          direct: dRt,
          sidecar: sRt,
          ratio: sRt.median / dRt.median,
          goal: 'report ratio',
          pass: null,
          detail: signedMs(sRt.median - dRt.median, 1),
        },
        {
          scenario: '6 many kernels',
          metric: `${label}: executions per second`,
          unit: 'exec/s',
          direct: { median: d.rate, p95: d.rate, count: 1 },
          sidecar: { median: s.rate, p95: s.rate, count: 1 },
          ratio: s.rate / d.rate,
          goal: 'report ratio',
          pass: null,
        },
        {
          scenario: '6 many kernels',
          metric: `${label}: errors`,
          unit: 'count',
          direct: { median: directErrors, p95: directErrors, count: 1 },
          sidecar: { median: sidecarErrors, p95: sidecarErrors, count: 1 },
          ratio: Number.NaN,
          goal: '0 errors',
          pass: sidecarErrors === 0,
          detail: [...new Set([...s.errors, ...socketErrors])].slice(0, 3).join('; ') || undefined,
        },
      ],
      notes: [
        `200 real ipykernels are too many for 2 cores, so ${connections} connections share ${kernelCount} kernels (${connections / kernelCount} per kernel), each connection with its own session; every kernel was created through the sidecar in a chat of its own (bench-many-K). Each phase opens its side's ${connections} connections (untimed), runs, and closes them: with both sides open at once (400 sockets, 4 ZeroMQ sockets each at the gateway) this Jupyter Server hit ZeroMQ's 1,023-socket limit and the later connections silently got nothing, directly as well as through the sidecar.`,
        `Phases of ${durationMs / 1000} s alternate (direct, sidecar${rounds > 1 ? ', direct, sidecar' : ''}), after one untimed warm-up phase each; in a phase every connection of that side runs \`1+1\` in a loop with a random ${thinkMs[0] / 1000}-${thinkMs[1] / 1000} s pause between executions. Without the pause (a first attempt: 20 connections per kernel, back to back) this Jupyter Server saturated at ~10 executions/s in all and timed out executions directly as often as through the sidecar: each execution's IOPub goes to every connection of its kernel, and the server relays ~1,300 messages/s in all (scenario 2).`,
        'Round trips include waiting behind other connections on the same kernel; every connection also receives the IOPub traffic of all connections to its kernel (the sidecar decodes all of it).',
      ],
    };
  } finally {
    await Promise.all(open.map((c) => c.close()));
    for (const kernel of kernels) await kernel.shutdown();
  }
}
