/**
 * Scenario 2: output-heavy executions. About 10k stream messages carrying 50 MB of text (print in
 * a loop, flushed each time), and one large display_data (a ~7 MB base64 image). Throughput is
 * output bytes received per second of round trip; the sidecar's RSS is sampled throughout.
 */
import { cpuMs, MB, rssBytes, sampleRss, startKernel, type BenchBed } from './bench-bed.ts';
import { startBytePipe } from './byte-pipe.ts';
import type { ResultRow, ScenarioResult } from './results-table.ts';
import { roundRobin, summarize } from './stats.ts';
import { RawKernelClient } from '../test/support/raw-kernel-client.ts';

const LINE_BYTES = 5000;

function streamCode(messages: number): string {
  return [
    'import sys, time',
    `line = 'x' * ${LINE_BYTES - 1} + '\\n'`,
    `for _ in range(${messages}):`,
    '    sys.stdout.write(line)',
    '    sys.stdout.flush()',
    // Unpaced, the kernel outruns this Jupyter Server and its IOPub socket (ZeroMQ high-water
    // mark) drops messages, status: idle included, with or without the sidecar.
    '    time.sleep(0.0002)',
  ].join('\n');
}

const IMAGE_SETUP = [
  'import base64, os',
  'from IPython.display import display',
  'bench_png = base64.b64encode(os.urandom(5 * 1024 * 1024)).decode()',
].join('\n');
const IMAGE_CODE = "display({'image/png': bench_png, 'text/plain': '<bench image>'}, raw=True)";

/** Runs code and returns MB/s of the output it expects (stream text or image bytes). */
async function throughput(
  client: RawKernelClient,
  code: string,
  expectBytes: number,
  measure: 'stream' | 'image',
  via: string,
): Promise<number> {
  const start = performance.now();
  const result = await client.execute(code, { timeoutMs: 120_000 });
  const seconds = (performance.now() - start) / 1000;
  client.received.length = 0;
  if (result.reply?.content.status !== 'ok')
    throw new Error(`execution failed: ${JSON.stringify(result.reply?.content).slice(0, 300)}`);
  const got =
    measure === 'stream'
      ? Buffer.byteLength(result.stream)
      : result.messages
          .filter((m) => m.header.msg_type === 'display_data')
          .reduce((n, m) => n + String(m.content.data?.['image/png'] ?? '').length, 0);
  if (got !== expectBytes) throw new LostOutputError(`${via}: expected ${expectBytes} output bytes, got ${got}`);
  return got / MB / seconds;
}

class LostOutputError extends Error {}

/** Runs lost to Jupyter dropping output (any side), redone rather than counted. */
const lostRuns = { direct: 0, sidecar: 0, pipe: 0 };
const MAX_LOST_PER_SAMPLE = 3;

type Side = keyof typeof lostRuns;

async function redoingLost(side: Side, run: () => Promise<number>): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (error) {
      if (!(error instanceof LostOutputError) || attempt > MAX_LOST_PER_SAMPLE) throw error;
      lostRuns[side]++;
    }
  }
}

type Kind = 'stream' | 'image' | 'empty';

/** CPU of a relaying process and of Jupyter Server during that relay's runs, and the MB relayed. */
interface CpuTally {
  relay: number;
  gateway: number;
  mb: number;
  /** Executions metered (redone ones included). */
  runs: number;
}

export async function benchOutputHeavy(bench: BenchBed): Promise<ScenarioResult> {
  const messages = bench.quick ? 2000 : 10_000;
  const streamRuns = bench.quick ? 1 : 3;
  const imageRuns = bench.quick ? 3 : 8;
  const emptyRuns = bench.quick ? 5 : 20;
  const viaSidecar = await startKernel(bench, 'sidecar', 'bench-output');
  const viaGateway = await startKernel(bench, 'direct');
  const viaPipe = await startKernel(bench, 'direct');
  const pipe = await startBytePipe(new URL(bench.gatewayUrl));
  // v1: with the legacy format this Jupyter Server (1.23) re-serializes every message, falls
  // further behind the kernel, and output is dropped even without the sidecar.
  const sidecarClient = await viaSidecar.connect('v1');
  const directClient = await viaGateway.connect('v1');
  const pipeUrl = new URL(`api/kernels/${viaPipe.id}/channels?token=${bench.token}`, bench.gatewayUrl);
  pipeUrl.host = new URL(pipe.url).host;
  pipeUrl.protocol = 'ws:';
  const pipeClient = await RawKernelClient.connect(pipeUrl.href, 'v1');
  const pid = bench.sidecar.pid!;
  const gatewayPid = bench.bed.jupyter.process.pid!;
  const tally = (): Record<Kind, CpuTally> => ({
    stream: { relay: 0, gateway: 0, mb: 0, runs: 0 },
    image: { relay: 0, gateway: 0, mb: 0, runs: 0 },
    empty: { relay: 0, gateway: 0, mb: 0, runs: 0 },
  });
  /** CPU of each relay, and of Jupyter Server while that relay's side runs, and the MB relayed meanwhile. */
  const cpu = { sidecar: tally(), pipe: tally() };
  const relayPids = { sidecar: pid, pipe: pipe.pid };
  /** Jupyter Server serves every side: its CPU is read around each run. */
  const metered = async (
    relay: 'sidecar' | 'pipe',
    kind: Kind,
    bytes: number,
    work: () => Promise<number>,
  ): Promise<number> => {
    const g0 = await cpuMs(gatewayPid);
    const result = await work();
    cpu[relay][kind].gateway += (await cpuMs(gatewayPid)) - g0;
    cpu[relay][kind].mb += bytes / MB;
    cpu[relay][kind].runs++;
    return result;
  };
  /**
   * A relay serves only its own side, so its CPU is read once around the whole phase: a reading
   * is in clock ticks (10 ms), and per-run readings would add up their rounding.
   */
  const phase = async (kind: Kind, work: () => Promise<number[][]>): Promise<number[][]> => {
    const before = { sidecar: await cpuMs(relayPids.sidecar), pipe: await cpuMs(relayPids.pipe) };
    const samples = await work();
    for (const relay of ['sidecar', 'pipe'] as const)
      cpu[relay][kind].relay = (await cpuMs(relayPids[relay])) - before[relay];
    return samples;
  };
  const idleRss = await rssBytes(pid);
  const rss = sampleRss(pid);
  try {
    /** Direct, through the sidecar and through the byte pipe. */
    const arms = (code: string, bytes: number, measure: 'stream' | 'image') => [
      () => redoingLost('direct', () => throughput(directClient, code, bytes, measure, 'direct')),
      () =>
        redoingLost('sidecar', () =>
          metered('sidecar', measure, bytes, () =>
            throughput(sidecarClient, code, bytes, measure, 'through the sidecar'),
          ),
        ),
      () =>
        redoingLost('pipe', () =>
          metered('pipe', measure, bytes, () => throughput(pipeClient, code, bytes, measure, 'through the byte pipe')),
        ),
    ];
    const code = streamCode(messages);
    const streamBytes = messages * LINE_BYTES;
    const stream = await phase('stream', () => roundRobin(streamRuns, 0, arms(code, streamBytes, 'stream')));
    // What an execution costs without output, so the image figure can be read net of it.
    await phase('empty', async () => {
      for (const [relay, client] of [
        ['sidecar', sidecarClient],
        ['pipe', pipeClient],
      ] as const)
        for (let i = 0; i < emptyRuns; i++)
          await metered(relay, 'empty', 0, () => client.execute('pass').then(() => 0));
      return [];
    });
    for (const client of [directClient, sidecarClient, pipeClient]) await client.execute(IMAGE_SETUP);
    const imageBytes = Math.ceil((5 * MB) / 3) * 4;
    // One untimed round first, outside the metered phase.
    for (const client of [directClient, sidecarClient, pipeClient]) await client.execute(IMAGE_CODE);
    const image = await phase('image', () => roundRobin(imageRuns, 0, arms(IMAGE_CODE, imageBytes, 'image')));
    const { peak } = await rss.stop();
    const row = (metric: string, [direct, sidecar, piped]: number[][]): ResultRow => {
      const d = summarize(direct!);
      const s = summarize(sidecar!);
      const ratio = s.median / d.median;
      return {
        scenario: '2 output-heavy',
        metric,
        unit: 'MB/s',
        direct: d,
        sidecar: s,
        ratio,
        goal: 'ratio ≥ 0.95',
        pass: ratio >= 0.95,
        detail: `byte pipe: ${summarize(piped!).median.toPrecision(3)} MB/s, ratio ${(summarize(piped!).median / d.median).toFixed(3)}`,
      };
    };
    const cpuRow = (kind: 'stream' | 'image'): ResultRow => {
      const { relay, gateway, mb } = cpu.sidecar[kind];
      const floor = cpu.pipe[kind];
      const floorShare = floor.relay / floor.mb / (floor.gateway / floor.mb);
      const perExecution = cpu.sidecar.empty.relay / cpu.sidecar.empty.runs;
      const net = (relay - cpu.sidecar[kind].runs * perExecution) / mb;
      return {
        scenario: '2 output-heavy',
        metric: `CPU per MB relayed (${kind}): Jupyter Server → sidecar, same runs`,
        unit: 'ms/MB',
        direct: { median: gateway / mb, p95: gateway / mb, count: 1 },
        sidecar: { median: relay / mb, p95: relay / mb, count: 1 },
        ratio: relay / gateway,
        goal: 'sidecar ≤ 10% of gateway',
        pass: relay <= 0.1 * gateway,
        detail: `${relay.toFixed(0)} / ${gateway.toFixed(0)} ms CPU over ${mb.toFixed(0)} MB; floor, a byte pipe: ${(floor.relay / floor.mb).toFixed(2)} ms/MB, ${(100 * floorShare).toFixed(1)}%; net of the per-execution work: ${net.toFixed(2)} ms/MB`,
      };
    };
    const emptyRow = (): ResultRow => {
      const { sidecar, pipe: piped } = cpu;
      const perRun = (t: CpuTally) => t.relay / t.runs;
      const gateway = sidecar.empty.gateway / sidecar.empty.runs;
      return {
        scenario: '2 output-heavy',
        metric: `CPU per execution without output (\`pass\`), ${emptyRuns} runs: Jupyter Server → sidecar`,
        unit: 'ms',
        direct: { median: gateway, p95: gateway, count: 1 },
        sidecar: { median: perRun(sidecar.empty), p95: perRun(sidecar.empty), count: 1 },
        ratio: perRun(sidecar.empty) / gateway,
        goal: 'report',
        pass: null,
        detail: `byte pipe: ${perRun(piped.empty).toFixed(2)} ms`,
      };
    };
    const floorRow = (kind: 'stream' | 'image'): ResultRow => {
      const { relay, gateway, mb } = cpu.pipe[kind];
      return {
        scenario: '2 output-heavy',
        metric: `CPU per MB relayed (${kind}): Jupyter Server → byte pipe (the floor), same runs`,
        unit: 'ms/MB',
        direct: { median: gateway / mb, p95: gateway / mb, count: 1 },
        sidecar: { median: relay / mb, p95: relay / mb, count: 1 },
        ratio: relay / gateway,
        goal: 'report',
        pass: null,
        detail: `${relay.toFixed(0)} / ${gateway.toFixed(0)} ms CPU over ${mb.toFixed(0)} MB`,
      };
    };
    const peakMb = peak / MB;
    const idleMb = idleRss / MB;
    return {
      rows: [
        row(
          `${messages.toLocaleString('en-US')} stream msgs, ${(streamBytes / 1e6).toFixed(0)} MB text, ${streamRuns} runs`,
          stream,
        ),
        row(`display_data ${(imageBytes / MB).toFixed(1)} MB base64 image, ${imageRuns} runs`, image),
        cpuRow('stream'),
        cpuRow('image'),
        floorRow('stream'),
        floorRow('image'),
        emptyRow(),
        {
          scenario: '2 output-heavy',
          metric: 'sidecar RSS: idle before → peak during',
          unit: 'MB',
          direct: { median: idleMb, p95: idleMb, count: 1 },
          sidecar: { median: peakMb, p95: peakMb, count: 1 },
          ratio: peakMb / idleMb,
          goal: 'report',
          pass: null,
        },
      ],
      notes: [
        "One kernel per side (separate kernels, so one side's output never crosses the other's socket). The sidecar kernel is in chat bench-output: every stream message is decoded, spliced and checked for workspace paths.",
        `This Jupyter Server (1.23) relays only about 1,300 stream messages/s (~7 MB/s). A kernel printing flushed lines unpaced outruns it and the kernel's IOPub socket (ZeroMQ high-water mark) drops messages, sometimes status: idle too, directly as well as through the sidecar. So the loop sleeps 0.2 ms per line (which barely lowers the rate), and all clients speak the v1 protocol (legacy JSON made the server slower still and dropped more). A run that loses output is not counted: it is redone (at most ${MAX_LOST_PER_SAMPLE} times per sample, else the scenario fails). Redone this time: ${lostRuns.direct} direct, ${lostRuns.sidecar} through the sidecar, ${lostRuns.pipe} through the byte pipe.`,
        'Throughput is output bytes received by the client per second of execute round trip (request to execute_reply + idle), so it includes the kernel producing the output. Direct, sidecar and byte pipe runs go round robin.',
        'The floor: a third kernel reached through a bare Node TCP pipe in a process of its own (bench/byte-pipe.ts: the sockets piped both ways, TCP_NODELAY, nothing parsed; configurable-http-proxy relays an upgraded WebSocket the same way). Any relay pays its CPU per MB: a read and a write system call per message, and for a large message the copies in and out of the kernel.',
        "CPU per MB: utime + stime of the relaying process (the sidecar, or the byte pipe) and of the Jupyter Server process (/proc/PID/stat; kernels are processes of their own and not counted). Jupyter Server's is read before and after each run through that relay and summed over those runs; the relay's is read once around all runs of the kind (it serves no other side, and a reading is in 10 ms clock ticks); each is divided by the output MB relayed. Process CPU time, so other load on the machine does not inflate it. The sidecar's figure also holds its per-execution work (both workspace scans, execution tracking), spread over the MB of the run.",
        'RSS is VmRSS of the sidecar child process (/proc/PID/status) sampled every 25 ms; "direct" here is the sidecar\'s own idle RSS just before the scenario.',
      ],
    };
  } finally {
    await rss.stop();
    await sidecarClient.close();
    await directClient.close();
    await pipeClient.close();
    await pipe.close();
    await viaSidecar.shutdown();
    await viaGateway.shutdown();
    await viaPipe.shutdown();
  }
}
