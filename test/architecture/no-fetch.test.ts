import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { it } from 'node:test';

const proxyRoot = path.resolve(import.meta.dirname, '../../proxy');

/** A call of the global fetch: not a method (`x.fetch(`), not a private one (`#fetch(`). */
const GLOBAL_FETCH = /(?<![.#\w])fetch\s*\(/;

it('proxy/ calls HTTP through http-call.ts, never the global fetch (undici costs the sidecar 5 MB, and 30 MB more at its first answer)', () => {
  const offenders = (readdirSync(proxyRoot, { recursive: true }) as string[])
    .filter((file) => file.endsWith('.ts'))
    .flatMap((file) =>
      readFileSync(path.join(proxyRoot, file), 'utf8')
        .split('\n')
        .flatMap((line, i) =>
          GLOBAL_FETCH.test(line) && !/^\s*(\/\/|\*)/.test(line) ? [`proxy/${file}:${i + 1}`] : [],
        ),
    );
  assert.deepEqual(offenders, []);
});
