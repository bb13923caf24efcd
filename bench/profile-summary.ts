/**
 * Summarizes a V8 .cpuprofile (from `node --cpu-prof`): self time by function and by file, so a
 * missed goal can be pinned on the code that costs it.
 *   node --import tsx bench/profile-summary.ts /tmp/prof/CPU.*.cpuprofile [--filter proxy/] [--top 25]
 */
import { readFile } from 'node:fs/promises';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const file = args.find((a) => !a.startsWith('--'));
  if (!file) throw new Error('usage: profile-summary.ts FILE.cpuprofile [--filter TEXT] [--top N]');
  const filter = args.includes('--filter') ? args[args.indexOf('--filter') + 1] : undefined;
  const top = args.includes('--top') ? Number(args[args.indexOf('--top') + 1]) : 25;
  const profile = JSON.parse(await readFile(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const total = (profile.endTime - profile.startTime) / 1000;
  const label = (n: ProfileNode) =>
    `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.replace(/^file:\/\/.*?\/(proxy|node_modules)\//, '$1/')}:${n.callFrame.lineNumber + 1}`;

  const bySelf = new Map<string, number>();
  const byFile = new Map<string, number>();
  // Inclusive time of frames matching the filter (counted once per sample).
  const inclusive = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const dt = (profile.timeDeltas[i] ?? 0) / 1000;
    const node = byId.get(id)!;
    bySelf.set(label(node), (bySelf.get(label(node)) ?? 0) + dt);
    const fileKey =
      node.callFrame.url.replace(/^file:\/\/.*?\/(proxy|node_modules)\//, '$1/') ||
      `(${node.callFrame.functionName || 'native'})`;
    byFile.set(fileKey, (byFile.get(fileKey) ?? 0) + dt);
    if (filter) {
      const seen = new Set<string>();
      for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
        const n = byId.get(cur)!;
        if (!n.callFrame.url.includes(filter)) continue;
        const key = label(n);
        if (seen.has(key)) continue;
        seen.add(key);
        inclusive.set(key, (inclusive.get(key) ?? 0) + dt);
      }
    }
  });
  const print = (title: string, map: Map<string, number>) => {
    console.log(`\n${title}`);
    for (const [key, ms] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top)) {
      console.log(`${ms.toFixed(1).padStart(9)} ms ${((100 * ms) / total).toFixed(1).padStart(5)}%  ${key}`);
    }
  };
  console.log(`${file}: ${total.toFixed(0)} ms profiled`);
  print('Self time by function', bySelf);
  print('Self time by file', byFile);
  if (filter) print(`Inclusive time of frames in ${filter}`, inclusive);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
