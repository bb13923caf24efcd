/**
 * Scenario 2: output-heavy executions. About 10k stream messages carrying 50 MB of text (print in
 * a loop, flushed each time), and one large display_data (a ~7 MB base64 image). Throughput is
 * output bytes received per second of round trip; the sidecar's RSS is sampled throughout.
 */
import { cpuMs, MB, rssBytes, sampleRss, startKernel, type BenchBed } from './bench-bed.ts';
import { startBytePipe, startFrameRelay, startMessageRelay, type FloorRelay } from './floor-relays.ts';
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

/** The relays measured beside the direct path: the sidecar, and the three floors (floor-relays.ts). */
const RELAYS = ['sidecar', 'pipe', 'message', 'frame'] as const;
type Relay = (typeof RELAYS)[number];
type Side = 'direct' | Relay;

const RELAY_NAMES: Record<Relay, string> = {
  sidecar: 'the sidecar',
  pipe: 'the byte pipe',
  message: 'the message relay',
  frame: 'the frame relay',
};

/** Runs lost to Jupyter dropping output (any side), redone rather than counted. */
const lostRuns: Record<Side, number> = { direct: 0, sidecar: 0, pipe: 0, message: 0, frame: 0 };
const MAX_LOST_PER_SAMPLE = 3;

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

const tally = (): Record<Kind, CpuTally> => ({
  stream: { relay: 0, gateway: 0, mb: 0, runs: 0 },
  image: { relay: 0, gateway: 0, mb: 0, runs: 0 },
  empty: { relay: 0, gateway: 0, mb: 0, runs: 0 },
});

/** A kernel at the gateway, reached through a floor relay. */
async function connectThrough(bench: BenchBed, relay: FloorRelay, kernelId: string): Promise<RawKernelClient> {
  const url = new URL(`api/kernels/${kernelId}/channels?token=${bench.token}`, bench.gatewayUrl);
  url.host = new URL(relay.url).host;
  url.protocol = 'ws:';
  return RawKernelClient.connect(url.href, 'v1');
}

export async function benchOutputHeavy(bench: BenchBed): Promise<ScenarioResult> {
  const messages = bench.quick ? 2000 : 10_000;
  const streamRuns = bench.quick ? 1 : 3;
  const imageRuns = bench.quick ? 3 : 8;
  const emptyRuns = bench.quick ? 5 : 20;
  // One kernel per side: a kernel's output goes to every connection it has.
  const kernels = {
    direct: await startKernel(bench, 'direct'),
    sidecar: await startKernel(bench, 'sidecar', 'bench-output'),
    pipe: await startKernel(bench, 'direct'),
    message: await startKernel(bench, 'direct'),
    frame: await startKernel(bench, 'direct'),
  };
  const gatewayUrl = new URL(bench.gatewayUrl);
  const floors = {
    pipe: await startBytePipe(gatewayUrl),
    message: await startMessageRelay(gatewayUrl),
    frame: await startFrameRelay(gatewayUrl),
  };
  // v1: with the legacy format this Jupyter Server (1.23) re-serializes every message, falls
  // further behind the kernel, and output is dropped even without the sidecar.
  const clients: Record<Side, RawKernelClient> = {
    direct: await kernels.direct.connect('v1'),
    sidecar: await kernels.sidecar.connect('v1'),
    pipe: await connectThrough(bench, floors.pipe, kernels.pipe.id),
    message: await connectThrough(bench, floors.message, kernels.message.id),
    frame: await connectThrough(bench, floors.frame, kernels.frame.id),
  };
  const pid = bench.sidecar.pid!;
  const gatewayPid = bench.bed.jupyter.process.pid!;
  const relayPids: Record<Relay, number> = {
    sidecar: pid,
    pipe: floors.pipe.pid,
    message: floors.message.pid,
    frame: floors.frame.pid,
  };
  /** CPU of each relay, and of Jupyter Server while that relay's side runs, and the MB relayed meanwhile. */
  const cpu: Record<Relay, Record<Kind, CpuTally>> = {
    sidecar: tally(),
    pipe: tally(),
    message: tally(),
    frame: tally(),
  };
  /** Jupyter Server serves every side: its CPU is read around each run. */
  const metered = async (relay: Relay, kind: Kind, bytes: number, work: () => Promise<number>): Promise<number> => {
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
    const before: Record<Relay, number> = { sidecar: 0, pipe: 0, message: 0, frame: 0 };
    for (const relay of RELAYS) before[relay] = await cpuMs(relayPids[relay]);
    const samples = await work();
    for (const relay of RELAYS) cpu[relay][kind].relay = (await cpuMs(relayPids[relay])) - before[relay];
    return samples;
  };
  const idleRss = await rssBytes(pid);
  const rss = sampleRss(pid);
  try {
    /** Direct, then each relay (round robin). */
    const arms = (code: string, bytes: number, measure: 'stream' | 'image') => [
      () => redoingLost('direct', () => throughput(clients.direct, code, bytes, measure, 'direct')),
      ...RELAYS.map(
        (relay) => () =>
          redoingLost(relay, () =>
            metered(relay, measure, bytes, () =>
              throughput(clients[relay], code, bytes, measure, `through ${RELAY_NAMES[relay]}`),
            ),
          ),
      ),
    ];
    const code = streamCode(messages);
    const streamBytes = messages * LINE_BYTES;
    const stream = await phase('stream', () => roundRobin(streamRuns, 0, arms(code, streamBytes, 'stream')));
    // What an execution costs without output, so the image figure can be read net of it.
    await phase('empty', async () => {
      for (const relay of RELAYS)
        for (let i = 0; i < emptyRuns; i++)
          await metered(relay, 'empty', 0, () => clients[relay].execute('pass').then(() => 0));
      return [];
    });
    for (const client of Object.values(clients)) await client.execute(IMAGE_SETUP);
    const imageBytes = Math.ceil((5 * MB) / 3) * 4;
    // One untimed round first, outside the metered phase.
    for (const client of Object.values(clients)) await client.execute(IMAGE_CODE);
    const image = await phase('image', () => roundRobin(imageRuns, 0, arms(IMAGE_CODE, imageBytes, 'image')));
    const { peak } = await rss.stop();
    const ratioOf = (samples: number[], direct: number[]) => summarize(samples).median / summarize(direct).median;
    const row = (metric: string, [direct, sidecar, piped, relayed, framed]: number[][]): ResultRow => {
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
        detail: `byte pipe ratio ${ratioOf(piped!, direct!).toFixed(3)}, message relay ${ratioOf(relayed!, direct!).toFixed(3)}, frame relay ${ratioOf(framed!, direct!).toFixed(3)}`,
      };
    };
    const perMb = (t: CpuTally) => t.relay / t.mb;
    const cpuRow = (kind: 'stream' | 'image'): ResultRow => {
      const { relay, gateway, mb, runs } = cpu.sidecar[kind];
      const perExecution = cpu.sidecar.empty.relay / cpu.sidecar.empty.runs;
      const net = (relay - runs * perExecution) / mb;
      return {
        scenario: '2 output-heavy',
        metric: `CPU per MB relayed (${kind}): Jupyter Server → sidecar, same runs`,
        unit: 'ms/MB',
        direct: { median: gateway / mb, p95: gateway / mb, count: 1 },
        sidecar: { median: relay / mb, p95: relay / mb, count: 1 },
        ratio: relay / gateway,
        goal: 'sidecar ≤ 10% of gateway',
        pass: relay <= 0.1 * gateway,
        detail: `${relay.toFixed(0)} / ${gateway.toFixed(0)} ms CPU over ${mb.toFixed(0)} MB; net of the per-execution work: ${net.toFixed(2)} ms/MB; floors: byte pipe ${perMb(cpu.pipe[kind]).toFixed(2)}, message relay ${perMb(cpu.message[kind]).toFixed(2)}, frame relay ${perMb(cpu.frame[kind]).toFixed(2)} ms/MB`,
      };
    };
    const floorRow = (relay: 'pipe' | 'message' | 'frame', kind: 'stream' | 'image'): ResultRow => {
      const { relay: relayMs, gateway, mb } = cpu[relay][kind];
      return {
        scenario: '2 output-heavy',
        metric: `CPU per MB relayed (${kind}): Jupyter Server → ${RELAY_NAMES[relay].replace(/^the /, '')} (a floor), same runs`,
        unit: 'ms/MB',
        direct: { median: gateway / mb, p95: gateway / mb, count: 1 },
        sidecar: { median: relayMs / mb, p95: relayMs / mb, count: 1 },
        ratio: relayMs / gateway,
        goal: 'report',
        pass: null,
        detail: `${relayMs.toFixed(0)} / ${gateway.toFixed(0)} ms CPU over ${mb.toFixed(0)} MB`,
      };
    };
    const emptyRow = (): ResultRow => {
      const perRun = (t: CpuTally) => t.relay / t.runs;
      const gateway = cpu.sidecar.empty.gateway / cpu.sidecar.empty.runs;
      return {
        scenario: '2 output-heavy',
        metric: `CPU per execution without output (\`pass\`), ${emptyRuns} runs: Jupyter Server → sidecar`,
        unit: 'ms',
        direct: { median: gateway, p95: gateway, count: 1 },
        sidecar: { median: perRun(cpu.sidecar.empty), p95: perRun(cpu.sidecar.empty), count: 1 },
        ratio: perRun(cpu.sidecar.empty) / gateway,
        goal: 'report',
        pass: null,
        detail: `byte pipe ${perRun(cpu.pipe.empty).toFixed(2)} ms, message relay ${perRun(cpu.message.empty).toFixed(2)} ms, frame relay ${perRun(cpu.frame.empty).toFixed(2)} ms`,
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
        floorRow('pipe', 'stream'),
        floorRow('message', 'stream'),
        floorRow('frame', 'stream'),
        floorRow('pipe', 'image'),
        floorRow('message', 'image'),
        floorRow('frame', 'image'),
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
        "One kernel per side (separate kernels, so one side's output never crosses another's socket). The sidecar kernel is in chat bench-output: every stream message is decoded, spliced and checked for workspace paths.",
        `This Jupyter Server (1.23) relays only about 1,300 stream messages/s (~7 MB/s). A kernel printing flushed lines unpaced outruns it and the kernel's IOPub socket (ZeroMQ high-water mark) drops messages, sometimes status: idle too, directly as well as through the sidecar. So the loop sleeps 0.2 ms per line (which barely lowers the rate), and all clients speak the v1 protocol (legacy JSON made the server slower still and dropped more). A run that loses output is not counted: it is redone (at most ${MAX_LOST_PER_SAMPLE} times per sample, else the scenario fails). Redone this time: ${lostRuns.direct} direct, ${lostRuns.sidecar} through the sidecar, ${lostRuns.pipe} through the byte pipe, ${lostRuns.message} through the message relay, ${lostRuns.frame} through the frame relay.`,
        'Throughput is output bytes received by the client per second of execute round trip (request to execute_reply + idle), so it includes the kernel producing the output. Direct, sidecar and floor runs go round robin.',
        "Floors (bench/floor-relays.ts), each a process of its own in front of a kernel of its own at the gateway: a byte pipe (the TCP sockets piped both ways, TCP_NODELAY, nothing parsed: how configurable-http-proxy relays an upgraded WebSocket; bytes go on as they arrive), and a message relay (`ws` on both sides, each message passed on whole and untouched: the sidecar's sockets without its decoding; a message goes on only once all of it has arrived, as the sidecar's must to rewrite it), and a frame relay (the byte pipe holding output until each frame has arrived, and searching each for a workspace path, with its own frame parsing on the raw sockets instead of `ws`: what leaving `ws` for output could reach at most). Any relay pays the byte pipe's CPU per MB: a read and a write system call per message, and for a large message the copies in and out of the kernel.",
        "CPU per MB: utime + stime of the relaying process and of the Jupyter Server process (/proc/PID/stat; kernels are processes of their own and not counted). Jupyter Server's is read before and after each run through that relay and summed over those runs; a relay's is read once around all runs of the kind (it serves no other side, and a reading is in 10 ms clock ticks); each is divided by the output MB relayed. Process CPU time, so other load on the machine does not inflate it. The sidecar's figure also holds its per-execution work (both workspace scans, execution tracking), spread over the MB of the run; the detail gives it net of the `pass` row.",
        'RSS is VmRSS of the sidecar child process (/proc/PID/status) sampled every 25 ms; "direct" here is the sidecar\'s own idle RSS just before the scenario.',
      ],
    };
  } finally {
    await rss.stop();
    for (const client of Object.values(clients)) await client.close();
    for (const floor of Object.values(floors)) await floor.close();
    for (const kernel of Object.values(kernels)) await kernel.shutdown();
  }
}
