/**
 * The package as a user gets it: `npm pack`, installed into an empty folder, the installed
 * `generated-files-sidecar` CLI started in front of a real Jupyter Server, and the element's npm
 * build type-checked from a consumer's TypeScript.
 */
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import { startTestBed, type TestBed } from '../support/harness.ts';

const run = promisify(execFile);
const projectRoot = path.resolve(import.meta.dirname, '../..');
const LIT_VERSION = JSON.parse(await readFile(path.join(projectRoot, 'package.json'), 'utf8')).devDependencies
  .lit as string;

/** What the script-tag bundle imports on first use: uploads, and the preview view. */
const CHUNKS = [
  'generated-files-file-list-view.js',
  'generated-files-uploads-controller.js',
  'generated-files-file-viewer.js',
  'generated-files-sandbox-links-controller.js',
];

let dir: string;
let app: string;
let bed: TestBed;
let sidecar: ChildProcess | undefined;

before(async () => {
  for (const built of ['dist/proxy/main.js', 'dist/widget/generated-files.js', 'dist/widget/npm/generated-files.js']) {
    assert.ok(existsSync(path.join(projectRoot, built)), `build first (npm run build): ${built} is missing`);
  }
  dir = await mkdtemp(path.join(tmpdir(), 'gf-package-'));
  // The build above is what gets packed; prepack would build it again.
  const packed = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], {
    cwd: projectRoot,
  });
  const { filename } = (JSON.parse(packed.stdout) as Array<{ filename: string }>)[0]!;
  app = path.join(dir, 'app');
  await mkdir(app);
  await writeFile(path.join(app, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  await run(
    'npm',
    ['install', '--no-audit', '--no-fund', '--prefer-offline', path.join(dir, filename), `lit@${LIT_VERSION}`],
    {
      cwd: app,
    },
  );
  bed = await startTestBed();
});

after(async () => {
  if (sidecar && sidecar.exitCode === null) {
    const exited = new Promise((resolve) => sidecar!.once('exit', resolve));
    sidecar.kill('SIGTERM');
    await exited;
  }
  await bed?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('the installed CLI prints its help', async () => {
  const { stdout } = await run(path.join(app, 'node_modules/.bin/generated-files-sidecar'), ['--help']);
  assert.match(stdout, /--gateway-url/);
  assert.match(stdout, /FILES_API_SECRET/);
});

/**
 * Log, into the file `$LOADED_MODULES_LOG`, every ES module a process loads and, at its exit, the
 * Node built-ins it loaded (`process.moduleLoadList`). The preload goes to the CLI in NODE_OPTIONS.
 */
const MODULE_LOG_HOOKS = [
  "import { appendFileSync } from 'node:fs';",
  'let log;',
  'export function initialize(file) { log = file; }',
  "export async function load(url, context, next) { appendFileSync(log, url + '\\n'); return next(url, context); }",
].join('\n');
const MODULE_LOG_PRELOAD = [
  "import { appendFileSync } from 'node:fs';",
  "import { register } from 'node:module';",
  'const log = process.env.LOADED_MODULES_LOG;',
  "register('./module-log-hooks.mjs', import.meta.url, { data: log });",
  "process.on('exit', () => appendFileSync(log, process.moduleLoadList.join('\\n') + '\\n'));",
].join('\n');

test('the installed CLI runs in front of Jupyter Server: health, the widget bundle and its chunks; loads no MCP SDK without --mcp, and never fetch', async () => {
  const preload = path.join(dir, 'module-log.mjs');
  const loadedLog = path.join(dir, 'loaded-modules.log');
  await writeFile(preload, MODULE_LOG_PRELOAD);
  await writeFile(path.join(dir, 'module-log-hooks.mjs'), MODULE_LOG_HOOKS);
  sidecar = spawn(
    path.join(app, 'node_modules/.bin/generated-files-sidecar'),
    [
      '--gateway-url',
      bed.jupyter.url,
      '--port',
      '0',
      '--workspace-root',
      path.join(dir, 'ws'),
      '--data-dir',
      path.join(dir, 'store'),
    ],
    {
      cwd: app,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODE_OPTIONS: `--import ${pathToFileURL(preload).href}`, LOADED_MODULES_LOG: loadedLog },
    },
  );
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const read = (chunk: Buffer) => {
      output += chunk.toString();
      const found = /listening on (http:\/\/\S+?\/)(?:\s|$)/.exec(output)?.[1];
      if (found) resolve(found);
    };
    sidecar!.stdout!.on('data', read);
    sidecar!.stderr!.on('data', read);
    sidecar!.once('exit', (code) => reject(new Error(`the CLI exited (${code}): ${output}`)));
  });
  const health = await fetch(new URL('sidecar/v1/health', url));
  assert.equal(health.status, 200);
  assert.equal(((await health.json()) as { gateway: string }).gateway, 'up');
  // The bundle, and the chunks it imports from next to itself on first use, byte for byte.
  for (const file of ['generated-files.js', ...CHUNKS]) {
    const served = await fetch(new URL(`sidecar/widget/${file}`, url));
    assert.equal(served.status, 200, file);
    assert.match(served.headers.get('content-type') ?? '', /javascript/, file);
    const bytes = Buffer.from(await served.arrayBuffer());
    assert.deepEqual(bytes, await readFile(path.join(app, 'node_modules/generated-files-sidecar/dist/widget', file)));
    if (file === 'generated-files.js') {
      for (const chunk of CHUNKS) assert.ok(bytes.includes(`./${chunk}`), `the bundle imports ./${chunk}`);
    }
  }

  // Memory: the MCP SDK and zod load only with --mcp; fetch's first answer would load undici and
  // compile its WebAssembly parser (proxy/http-call.ts), and /health above had the gateway's answer.
  const exited = new Promise((resolve) => sidecar!.once('exit', resolve));
  sidecar.kill('SIGTERM');
  await exited;
  const loaded = await readFile(loadedLog, 'utf8');
  assert.match(loaded, /node_modules\/generated-files-sidecar\/dist\/proxy\/sidecar\.js/, 'the log saw our modules');
  assert.match(loaded, /^NativeModule http$/m, 'the log saw the built-ins');
  assert.doesNotMatch(loaded, /@modelcontextprotocol|\/node_modules\/zod\//, 'the MCP SDK loaded without --mcp');
  assert.doesNotMatch(loaded, /undici/, 'fetch was used: undici loaded');
});

test("the element's npm build has types a consumer's TypeScript accepts, and ships what it imports on first use", async () => {
  await writeFile(
    path.join(app, 'consumer.ts'),
    [
      "import { GeneratedFilesElement } from 'generated-files-sidecar';",
      "const element: GeneratedFilesElement = document.createElement('generated-files');",
      'element.chatId = "c1";',
      'export {};',
    ].join('\n'),
  );
  await writeFile(
    path.join(app, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        strict: true,
        module: 'ESNext',
        moduleResolution: 'bundler',
        target: 'ES2022',
        lib: ['ES2022', 'DOM'],
        noEmit: true,
        skipLibCheck: false,
        types: [],
      },
      files: ['consumer.ts'],
    }),
  );
  const tsc = path.join(projectRoot, 'node_modules/typescript/bin/tsc');
  await run(process.execPath, [tsc, '-p', app]).catch((error: { stdout?: string }) => {
    assert.fail(`tsc rejected the package's types:\n${error.stdout}`);
  });
  // The npm build's imports on first use (uploads, the preview view, sandbox links) name files the package ships.
  const npmBuild = path.join(app, 'node_modules/generated-files-sidecar/dist/widget/npm');
  const lazy: string[] = [];
  for (const file of await readdir(npmBuild)) {
    if (!file.endsWith('.js')) continue;
    for (const [, target] of (await readFile(path.join(npmBuild, file), 'utf8')).matchAll(
      /import\(["'](\.\/[^"']+)["']\)/g,
    ))
      lazy.push(target!);
  }
  assert.deepEqual(lazy.sort(), [
    './file-list-view.js',
    './file-viewer.js',
    './sandbox-links-controller.js',
    './uploads-controller.js',
  ]);
  for (const target of lazy) assert.ok(existsSync(path.join(npmBuild, target)), `${target} is in the package`);
  const manifest = JSON.parse(
    await readFile(path.join(app, 'node_modules/generated-files-sidecar/dist/widget/custom-elements.json'), 'utf8'),
  );
  assert.ok(JSON.stringify(manifest).includes('"generated-files"'), 'custom-elements.json names the tag');
});
