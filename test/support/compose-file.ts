/**
 * A compose file of the repository as data, read with a real YAML parser (Debian's python3-yaml),
 * for the tests that check it (test/sidecar/compose-file.test.ts) and run it (compose-stack.test.ts).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';

export const repoRoot = path.resolve(import.meta.dirname, '../..');

export interface ComposeService {
  image?: string;
  build?: unknown;
  restart?: string;
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: string[];
  healthcheck?: { test: string[] };
  stop_grace_period?: string;
  command?: string[];
  depends_on?: Record<string, { condition: string }>;
  extends?: { file: string; service: string };
  secrets?: string[];
}

export interface ComposeFile {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
  secrets?: Record<string, { file: string }>;
}

export function readCompose(file = 'compose.yaml'): ComposeFile {
  return JSON.parse(
    execFileSync('python3', ['-c', 'import sys, json, yaml; print(json.dumps(yaml.safe_load(sys.stdin)))'], {
      input: readFileSync(path.join(repoRoot, file)),
      encoding: 'utf8',
    }),
  ) as ComposeFile;
}

/** `30s` as seconds (the only form the repository's compose files use). */
export function seconds(duration: string): number {
  const match = /^(\d+)s$/.exec(duration);
  if (!match) throw new Error(`not a duration in seconds: ${duration}`);
  return Number(match[1]);
}
