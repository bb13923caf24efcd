/**
 * Real containers for tests, through Debian's podman (see README's "Containers"): is it usable
 * here, the base images made locally (scripts/container-base-images.sh), an image built once per
 * content hash, containers and volumes that are all removed at the end.
 */
import { execFile, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '../..');
const containersConf = path.join(root, 'scripts/containers.conf');

/** podman's environment: this repo's settings unless the system's already choose runc. */
export function podmanEnv(): NodeJS.ProcessEnv {
  const system = existsSync('/etc/containers/containers.conf')
    ? readFileSync('/etc/containers/containers.conf', 'utf8')
    : '';
  return process.env.CONTAINERS_CONF || /^runtime *= *"runc"/m.test(system)
    ? process.env
    : { ...process.env, CONTAINERS_CONF: containersConf };
}

/** Why containers cannot run here (printed as the skip reason), or null when they can. */
export function podmanUnavailable(): string | null {
  const which = spawnSync('sh', ['-c', 'command -v podman'], { encoding: 'utf8' });
  if (which.status !== 0)
    return 'podman is not installed (apt-get install podman runc mmdebstrap; README, "Containers")';
  if (process.getuid?.() !== 0) return 'podman runs as root on these machines (rootless needs subuid ranges)';
  const info = spawnSync('podman', ['info', '--format', '{{.Host.OCIRuntime.Name}}'], {
    encoding: 'utf8',
    env: podmanEnv(),
  });
  if (info.status !== 0) return `podman info failed: ${info.stderr.trim().split('\n').pop()}`;
  return null;
}

/**
 * Why podman-compose cannot run compose.yaml here (printed as the skip reason), or null. Its
 * services find each other by name, which podman's CNI networks do only with the dnsname plugin.
 */
export function composeUnavailable(): string | null {
  const which = spawnSync('sh', ['-c', 'command -v podman-compose'], { encoding: 'utf8' });
  if (which.status !== 0) return 'podman-compose is not installed (apt-get install podman-compose)';
  const backend = spawnSync('podman', ['info', '--format', '{{.Host.NetworkBackend}}'], {
    encoding: 'utf8',
    env: podmanEnv(),
  }).stdout.trim();
  if (backend === 'cni' && !existsSync('/usr/lib/cni/dnsname'))
    return "podman's networks resolve no service names (apt-get install golang-github-containernetworking-plugin-dnsname)";
  return null;
}

/** Runs a program of the podman family (`podman`, `podman-compose`) with podman's settings. */
function runPodmanTool(
  program: string,
  args: string[],
  options: { input?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      program,
      args,
      { env: { ...podmanEnv(), ...options.env }, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`${program} ${args.join(' ')}: ${stderr || error.message}`));
        else resolve(stdout.trim());
      },
    );
    if (options.input !== undefined) child.stdin!.end(options.input);
  });
}

export function podman(args: string[], options: { input?: string } = {}): Promise<string> {
  return runPodmanTool('podman', args, options);
}

/** `podman-compose …` with `env` for the compose file's variables; resolves with its output. */
export function podmanCompose(args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return runPodmanTool('podman-compose', args, { env });
}

/** Makes the base images that are missing (minutes on a fresh machine, nothing once made). */
export function ensureBaseImages(): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(
      'nice',
      ['-n', '10', 'bash', path.join(root, 'scripts/container-base-images.sh')],
      { env: podmanEnv(), maxBuffer: 16 * 1024 * 1024 },
      (error, _stdout, stderr) => (error ? reject(new Error(`base images: ${stderr || error.message}`)) : resolve()),
    );
  });
}

/** Every file the build context holds (what .dockerignore leaves), hashed with its path. */
function contextHash(dir: string): string {
  const ignored = readFileSync(path.join(dir, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const hash = createHash('sha256');
  const walk = (rel: string) => {
    for (const name of readdirSync(path.join(dir, rel)).sort()) {
      const child = rel ? `${rel}/${name}` : name;
      if (ignored.some((p) => child === p || (p.startsWith('*') && name.endsWith(p.slice(1))))) continue;
      const full = path.join(dir, child);
      if (statSync(full).isDirectory()) walk(child);
      else hash.update(child).update('\0').update(readFileSync(full)).update('\0');
    }
  };
  walk('');
  return hash.digest('hex').slice(0, 16);
}

/**
 * The repository's Dockerfile built as `name:{content hash}`, unless an image of that tag exists
 * (a CI run on the same machine with the same sources builds nothing). Returns the tag and
 * whether it was built now.
 */
export async function buildRepoImage(name: string): Promise<{ tag: string; built: boolean }> {
  const tag = `${name}:${contextHash(root)}`;
  const exists = await podman(['image', 'exists', tag]).then(
    () => true,
    () => false,
  );
  if (exists) return { tag, built: false };
  // --format docker keeps HEALTHCHECK (OCI images have no field for it).
  // Where the host reaches the npm registry through a TLS-inspecting proxy, its CA bundle goes in.
  const ca = process.env.NODE_EXTRA_CA_CERTS;
  const caArgs =
    ca && existsSync(ca)
      ? ['-v', `${ca}:/run/host-ca.crt:ro`, '--build-arg', 'NODE_EXTRA_CA_CERTS=/run/host-ca.crt']
      : [];
  // Niced: a cold build takes minutes of CPU on machines shared with other work.
  await runPodmanTool('nice', [
    '-n',
    '10',
    'podman',
    'build',
    '--network',
    'host',
    '--pull=never',
    '--format',
    'docker',
    ...caArgs,
    '--quiet',
    '-t',
    tag,
    root,
  ]);
  return { tag, built: true };
}

/** Containers and volumes made through it, removed by `cleanup` (whatever failed before). */
export class PodmanScope {
  readonly id = randomBytes(4).toString('hex');
  readonly #containers: string[] = [];
  readonly #volumes: string[] = [];

  name(what: string): string {
    return `gf-test-${what}-${this.id}`;
  }

  async volume(what: string): Promise<string> {
    const name = this.name(what);
    await podman(['volume', 'create', name]);
    this.#volumes.push(name);
    return name;
  }

  /** `podman run -d --network host --name …`; returns the container's name. */
  async run(what: string, args: string[]): Promise<string> {
    const name = this.name(what);
    this.#containers.push(name);
    await podman(['run', '-d', '--network', 'host', '--pull=never', '--name', name, ...args]);
    return name;
  }

  async cleanup(): Promise<void> {
    for (const c of this.#containers.reverse()) await podman(['rm', '-f', '-t', '0', c]).catch(() => {});
    for (const v of this.#volumes) await podman(['volume', 'rm', '-f', v]).catch(() => {});
  }
}

/**
 * Runs a container's own health check (the image's or the compose file's) until it passes:
 * podman schedules health checks through systemd timers, which these machines lack, so nothing
 * else would run them.
 */
export async function untilHealthy(container: string, withinMs = 180_000): Promise<void> {
  const until = Date.now() + withinMs;
  for (;;) {
    const healthy = await podman(['healthcheck', 'run', container]).then(
      () => true,
      () => false,
    );
    if (healthy) return;
    if (Date.now() > until) {
      const logs = await podman(['logs', '--tail', '20', container]).catch((e: Error) => e.message);
      throw new Error(`${container} is not healthy; its last lines:\n${logs}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** Removes whatever podman-compose made for `project`: containers, volumes, its network. */
export async function removeComposeProject(project: string): Promise<void> {
  const label = `label=io.podman.compose.project=${project}`;
  const containers = (await podman(['ps', '-aq', '--filter', label]).catch(() => '')).split('\n').filter(Boolean);
  if (containers.length) await podman(['rm', '-f', '-t', '0', ...containers]).catch(() => {});
  const volumes = (await podman(['volume', 'ls', '-q', '--filter', label]).catch(() => '')).split('\n').filter(Boolean);
  if (volumes.length) await podman(['volume', 'rm', '-f', ...volumes]).catch(() => {});
  await podman(['network', 'rm', '-f', `${project}_default`]).catch(() => {});
}
