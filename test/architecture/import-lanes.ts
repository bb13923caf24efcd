import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * The lane rule, checked: each room of proxy/ has a rank in the order of the flows, and a file
 * may import only from rooms of its own rank or lower. A stage publishes its interface; its
 * consumers import it, never the reverse. widget/ imports nothing outside widget/ but contract/,
 * and contract/ imports nothing outside itself. Stated in ARCHITECTURE.md ("Lanes").
 */
export const ROOM_RANKS: Readonly<Record<string, number>> = {
  // foundations: the files-API contract, the one error vocabulary, the logger
  contract: 0,
  errors: 0,
  logger: 0,
  'structured-logger': 0,
  'package-root': 0,
  'lru-map': 0,
  // the sidecar's own HTTP calls (to the gateway, webhook receivers, itself)
  'http-call': 0,
  // code and output lane
  wire: 1,
  chats: 2,
  rewrite: 3,
  // the record model every later stage carries (executions report records, cards show them)
  storage: 4,
  executions: 5,
  // files lane
  workspace: 6,
  artifacts: 7,
  // the kernel file transport: wraps the recorder's observer, fills the workspace over the kernel's channel
  transport: 7.5,
  links: 8,
  announce: 9,
  webhooks: 10,
  previews: 11,
  // the edges: the gateway side and the files API
  gateway: 12,
  api: 13,
  // the MCP server: a Jupyter client of the sidecar's own routes, beside the files API
  mcp: 13,
  // wiring
  'allowed-hosts': 14,
  'local-jupyter': 14,
  options: 14,
  http: 14,
  'embed-snippet': 14,
  // measures every lane at its seams (the store, the observer, the preview service, the routes)
  metrics: 14,
  sidecar: 15,
  // the CLI's other commands, beside the sidecar: they read the options and use a lane's code
  'token-command': 15,
  main: 16,
};

export interface LaneViolation {
  file: string;
  imports: string;
  reason: string;
}

const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(['"])(\.{1,2}\/[^'"]+)\1/g;

function sourceFiles(dir: string): string[] {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' ? [] : sourceFiles(full);
    return /\.(?:ts|mts|js|mjs)$/.test(e.name) && !e.name.endsWith('.d.ts') ? [full] : [];
  });
}

/** Relative imports of a file, as repository paths (`proxy/wire/kernel-frame.ts`). */
export function relativeImports(root: string, file: string): string[] {
  const source = readFileSync(path.join(root, file), 'utf8');
  return [...source.matchAll(SPECIFIER)].map((m) =>
    path.posix.normalize(path.posix.join(path.posix.dirname(file), m[2]!)),
  );
}

/** The room of a repository path: `proxy/{room}/…`, `proxy/{room}.ts`, `contract`, `widget`, or null outside them. */
export function roomOf(file: string): string | null {
  const parts = file.split('/');
  if (parts[0] === 'contract') return 'contract';
  if (parts[0] === 'widget') return 'widget';
  if (parts[0] !== 'proxy' || parts.length < 2) return null;
  return parts.length > 2 ? parts[1]! : parts[1]!.replace(/\.[^.]+$/, '');
}

/** Every import that breaks the rule under `root` (a checkout, or a fixture tree in the same shape). */
export function checkImportLanes(root: string, ranks: Readonly<Record<string, number>> = ROOM_RANKS): LaneViolation[] {
  const violations: LaneViolation[] = [];
  const files = ['proxy', 'contract', 'widget']
    .flatMap((top) => sourceFiles(path.join(root, top)))
    .map((f) => path.relative(root, f).split(path.sep).join('/'));
  for (const file of files) {
    const from = roomOf(file)!;
    if (from !== 'widget' && !(from in ranks)) {
      violations.push({ file, imports: '', reason: `room "${from}" has no rank: add it to ROOM_RANKS` });
      continue;
    }
    for (const target of relativeImports(root, file)) {
      const to = roomOf(target);
      if (from === 'widget' || from === 'contract') {
        if (to !== from && to !== 'contract')
          violations.push({
            file,
            imports: target,
            reason: `${from}/ may import only ${from === 'widget' ? 'widget/ and ' : ''}contract/`,
          });
        continue;
      }
      if (to === null || to === 'widget') {
        violations.push({ file, imports: target, reason: 'proxy/ imports nothing outside proxy/ but contract/' });
        continue;
      }
      if (to === from) continue;
      if (!(to in ranks)) violations.push({ file, imports: target, reason: `room "${to}" has no rank` });
      else if (ranks[to]! > ranks[from]!)
        violations.push({
          file,
          imports: target,
          reason: `${from} (rank ${ranks[from]}) imports ${to} (rank ${ranks[to]}), a later stage`,
        });
    }
  }
  return violations;
}
