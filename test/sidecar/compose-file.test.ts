/**
 * compose.yaml holds together: read with a real YAML parser (Debian's python3-yaml), every rule
 * the stack depends on is checked against the file itself and against the options table, so a
 * renamed variable or a moved mount fails here. (Running it: test/e2e/compose-stack.test.ts starts
 * it with podman-compose; Open WebUI's image cannot be had here.)
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { OPTIONS } from '../../proxy/options.ts';
import { readCompose, repoRoot as root, seconds, type ComposeService as Service } from '../support/compose-file.ts';

const compose = readCompose();
const { sidecar, jupyter, postgres } = compose.services as Record<string, Service>;
const openWebUi = compose.services['open-webui']!;

const mountOf = (service: Service, volume: string) =>
  service.volumes?.find((v) => v.startsWith(`${volume}:`))?.split(':')[1];

test('the workspace volume is shared at two paths, and the sidecar is told the kernel one', () => {
  const kernelPath = mountOf(jupyter!, 'workspaces');
  const sidecarPath = mountOf(sidecar!, 'workspaces');
  assert.ok(kernelPath && sidecarPath && kernelPath !== sidecarPath);
  assert.equal(sidecar!.environment![OPTIONS.kernelWorkspaceRoot.env], kernelPath);
  assert.ok(jupyter!.command!.includes(`--ServerApp.root_dir=${kernelPath}`), "Jupyter's root is the workspace");
  // The image's default WORKSPACE_ROOT is where the volume is mounted.
  assert.match(readFileSync(path.join(root, 'Dockerfile'), 'utf8'), new RegExp(`WORKSPACE_ROOT=${sidecarPath}\\b`));
  assert.equal(mountOf(sidecar!, 'sidecar-data'), '/data', 'the one data volume of the image');
});

test("Open WebUI's code interpreter and code execution point at the sidecar, with Jupyter's token", () => {
  const env = openWebUi.environment!;
  for (const prefix of ['CODE_INTERPRETER', 'CODE_EXECUTION']) {
    assert.equal(env[`${prefix}_ENGINE`], 'jupyter');
    assert.equal(env[`${prefix}_JUPYTER_URL`], 'http://sidecar:8890/');
    assert.equal(env[`${prefix}_JUPYTER_AUTH`], 'token');
    assert.match(env[`${prefix}_JUPYTER_AUTH_TOKEN`]!, /JUPYTER_TOKEN/);
  }
  assert.equal(sidecar!.environment![OPTIONS.gatewayUrl.env], 'http://jupyter:8888/');
  assert.match(sidecar!.environment![OPTIONS.allowedHosts.env]!, /\bsidecar\b/, 'called by its service name');
});

test('every setting the sidecar is given is an option, secrets come from files', () => {
  const known = new Set(Object.values(OPTIONS).map((o) => o.env));
  for (const name of Object.keys(sidecar!.environment!)) assert.ok(known.has(name), `${name} is not an option`);
  assert.equal(sidecar!.environment![OPTIONS.filesSecret.env], undefined);
  assert.ok(sidecar!.environment![OPTIONS.filesSecretFile.env]?.startsWith('/run/secrets/'));
  assert.ok(sidecar!.environment![OPTIONS.metricsTokenFile.env]?.startsWith('/run/secrets/'));
});

test('health checks and restart policies everywhere; the stop grace outlasts the shutdown grace', () => {
  for (const [name, service] of Object.entries(compose.services)) {
    assert.equal(service.restart, 'unless-stopped', name);
    if (name !== 'open-webui') assert.ok(service.healthcheck?.test.length, `${name} has a health check`);
  }
  assert.match(sidecar!.healthcheck!.test.join(' '), /health\/ready/, 'dependants wait for readiness');
  // One shell string: podman-compose 1.0.3 breaks CMD lists whose words hold spaces or parentheses.
  for (const [name, service] of Object.entries(compose.services))
    if (service.healthcheck)
      assert.deepEqual([service.healthcheck.test[0], service.healthcheck.test.length], ['CMD-SHELL', 2], name);
  const stopS = seconds(sidecar!.stop_grace_period!);
  assert.ok(stopS > Number(sidecar!.environment![OPTIONS.shutdownGraceMs.env]));
});

test('the images are the ones scripts/container-base-images.sh stands in for here', () => {
  const script = readFileSync(path.join(root, 'scripts/container-base-images.sh'), 'utf8');
  assert.ok(script.includes(`JUPYTER=${jupyter!.image}`));
  assert.ok(script.includes(`POSTGRES=docker.io/library/${postgres!.image}`));
  assert.match(readFileSync(path.join(root, 'Dockerfile'), 'utf8'), /ARG NODE_IMAGE=node:22-bookworm-slim/);
  assert.ok(script.includes('NODE=docker.io/library/node:22-bookworm-slim'));
});

test('compose.ha.yaml: sidecar-2 is the sidecar without a published port, and the proxy sends to both', () => {
  const ha = readCompose('compose.ha.yaml');
  const second = ha.services['sidecar-2']!;
  const hosts = OPTIONS.allowedHosts.env;
  const { [hosts]: firstHosts, ...firstEnv } = { ...sidecar!.environment!, ...ha.services.sidecar!.environment! };
  const { [hosts]: secondHosts, ...secondEnv } = second.environment!;
  assert.deepEqual(secondEnv, firstEnv, 'the same settings');
  for (const key of [
    'image',
    'restart',
    'stop_grace_period',
    'secrets',
    'volumes',
    'depends_on',
    'healthcheck',
  ] as const)
    assert.deepEqual(second[key], sidecar![key], key);
  assert.equal(second.ports, undefined, 'only the proxy and the first sidecar publish a port');
  assert.deepEqual(firstHosts?.split(','), ['sidecar', 'proxy']);
  assert.deepEqual(secondHosts?.split(','), ['sidecar-2', 'proxy']);
  for (const prefix of ['CODE_INTERPRETER', 'CODE_EXECUTION'])
    assert.equal(ha.services['open-webui']!.environment![`${prefix}_JUPYTER_URL`], 'http://proxy:8890/');
  const config = readFileSync(path.join(root, 'scripts/compose/haproxy.cfg'), 'utf8');
  assert.deepEqual(
    [...config.matchAll(/^\s*server \S+ (\S+):8890\b/gm)].map((m) => m[1]),
    ['sidecar', 'sidecar-2'],
  );
  assert.match(config, /uri \/sidecar\/v1\/health\/ready/, 'a sidecar that is not ready gets no requests');
  const script = readFileSync(path.join(root, 'scripts/container-base-images.sh'), 'utf8');
  assert.ok(script.includes(`HAPROXY=docker.io/library/${ha.services.proxy!.image}`));
});
