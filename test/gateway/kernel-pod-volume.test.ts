import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { kernelVolumeEnv } from '../../proxy/gateway/kernel-pod-volume.ts';
import { OptionsError, resolveOptions } from '../../proxy/options.ts';
import { createSidecar, type Sidecar } from '../../proxy/sidecar.ts';

const RENDER = fileURLToPath(new URL('./eg-pod-render.py', import.meta.url));

interface RenderedPod {
  spec: {
    containers: { workingDir?: string; volumeMounts: Record<string, unknown>[] | null }[];
    volumes: Record<string, unknown>[] | null;
  };
}

/** The env through Enterprise Gateway's own steps (its value rules, yaml.safe_load, its template's filter). */
function renderAsEnterpriseGateway(env: Record<string, unknown>): { refused?: string; pods?: RenderedPod[] } {
  return JSON.parse(execFileSync('/usr/bin/python3', [RENDER], { input: JSON.stringify(env) }).toString('utf8'));
}

/**
 * Enterprise Gateway on Kubernetes cannot run here. The gateway behind the sidecar is a recorder of
 * what the sidecar sends (the one thing under test): it answers kernel creations as EG does (201, id).
 */
describe('Enterprise Gateway on Kubernetes: the kernel pod mounts its own chat only', () => {
  let dir: string;
  let gateway: http.Server;
  let sidecar: Sidecar;
  let origin: string;
  const received: Record<string, unknown>[] = [];

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'gf-kernel-volume-'));
    let n = 0;
    gateway = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push(JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}'));
        res.writeHead(201, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ id: `k${++n}`, name: 'python_kubernetes' }));
      });
    });
    await new Promise<void>((resolve) => gateway.listen(0, '127.0.0.1', resolve));
    const options = resolveOptions(
      {
        'gateway-url': `http://127.0.0.1:${(gateway.address() as AddressInfo).port}/`,
        'workspace-root': path.join(dir, 'claim', 'workspaces'),
        'kernel-workspace-root': '/mnt/workspaces',
        'kernel-volume-claim': 'chat-workspaces',
        'kernel-volume-sub-path': 'workspaces/',
        'data-dir': path.join(dir, 'store'),
      },
      {},
    );
    options.port = 0;
    sidecar = await createSidecar(options);
    origin = (await sidecar.listen()).replace(/\/$/, '');
  });

  after(async () => {
    await sidecar?.close();
    await new Promise((resolve) => gateway?.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  async function create(chatId: string, body: unknown): Promise<Response> {
    return fetch(`${origin}/api/kernels`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-chat-id': chatId },
      body: JSON.stringify(body),
    });
  }

  it('each chat’s pod mounts exactly <sub-path>/<chat> of the claim at its workspace and starts there', async () => {
    for (const chatId of ['c1', 'chat.two']) {
      const res = await create(chatId, { name: 'python_kubernetes', env: { KERNEL_USERNAME: 'alice' } });
      assert.equal(res.status, 201);
      const env = received.at(-1)!.env as Record<string, unknown>;
      const rendered = renderAsEnterpriseGateway(env);
      assert.equal(rendered.refused, undefined, `Enterprise Gateway would refuse it: ${rendered.refused}`);
      assert.equal(rendered.pods!.length, 1);
      const pod = rendered.pods![0]!;
      assert.deepEqual(pod.spec.volumes, [
        { name: 'chat-workspace', persistentVolumeClaim: { claimName: 'chat-workspaces' } },
      ]);
      assert.deepEqual(pod.spec.containers[0]!.volumeMounts, [
        { name: 'chat-workspace', mountPath: `/mnt/workspaces/${chatId}`, subPath: `workspaces/${chatId}` },
      ]);
      assert.equal(pod.spec.containers[0]!.workingDir, `/mnt/workspaces/${chatId}`);
      assert.equal(env.KERNEL_CHAT_ID, chatId);
      assert.equal(env.KERNEL_USERNAME, 'alice');
    }
  });

  it('refuses a client’s own KERNEL_VOLUMES or KERNEL_VOLUME_MOUNTS (400), and nothing reaches the gateway', async () => {
    const before = received.length;
    const attacks = [
      { KERNEL_VOLUMES: '[{"name":"x","persistentVolumeClaim":{"claimName":"chat-workspaces"}}]' },
      { KERNEL_VOLUME_MOUNTS: '[{"name":"chat-workspace","mountPath":"/x","subPath":"workspaces/other"}]' },
      { KERNEL_VOLUME_MOUNTS: '' },
    ];
    for (const env of attacks) {
      const res = await create('c3', { env });
      assert.equal(res.status, 400);
      const body = (await res.json()) as { error: { code: string } };
      assert.equal(body.error.code, 'ERR_KERNEL_ENV_REFUSED');
    }
    assert.equal(received.length, before);
  });

  it('the renderer under test refuses what Enterprise Gateway refuses (it can fail)', () => {
    assert.match(renderAsEnterpriseGateway({ KERNEL_WORKING_DIR: '/a/$HOME' }).refused!, /prohibited/);
    assert.match(renderAsEnterpriseGateway({ KERNEL_VOLUMES: 'x'.repeat(4097) }).refused!, /length/);
    assert.match(renderAsEnterpriseGateway({ KERNEL_VOLUME_MOUNTS: '["a: b"]' }).refused!, /list of mappings/);
  });

  it('a kernel path that would break the env rules is an error, not a request EG refuses', () => {
    const volume = { claimName: 'c', subPath: '' };
    assert.throws(() => kernelVolumeEnv(volume, 'c1', `/${'a'.repeat(4100)}`), { code: 'ERR_KERNEL_VOLUME_CONFIG' });
    assert.throws(() => kernelVolumeEnv(volume, 'c1', '/mnt/$x'), { code: 'ERR_KERNEL_VOLUME_CONFIG' });
    const env = kernelVolumeEnv(volume, 'c1', '/mnt/data dir/"q"');
    const pod = renderAsEnterpriseGateway(env).pods![0]!;
    assert.equal(pod.spec.containers[0]!.volumeMounts![0]!.mountPath, '/mnt/data dir/"q"');
    assert.equal(pod.spec.containers[0]!.volumeMounts![0]!.subPath, 'c1');
  });

  it('options refuse a claim name Kubernetes would refuse and a sub-path that leaves the claim', () => {
    for (const flags of [
      { 'kernel-volume-claim': 'Chat_Workspaces' },
      { 'kernel-volume-claim': 'ok', 'kernel-volume-sub-path': '../other' },
      { 'kernel-volume-claim': 'ok', 'kernel-volume-sub-path': '/abs' },
      { 'kernel-volume-claim': 'ok', 'kernel-volume-sub-path': 'a/$b' },
    ]) {
      assert.throws(
        () => resolveOptions({ 'gateway-url': 'http://127.0.0.1:1/', ...flags }, {}),
        (e: unknown) => e instanceof OptionsError && e.code === 'ERR_OPTIONS_KERNEL_VOLUME',
      );
    }
  });
});
