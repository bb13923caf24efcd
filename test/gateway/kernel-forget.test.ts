import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { describe, it } from 'node:test';
import type { Request } from 'express';
import type { KernelChatStore } from '../../proxy/chats/kernel-chats.ts';
import { forgetGoneKernels } from '../../proxy/gateway/kernel-forget.ts';
import { quietLogger } from '../../proxy/logger.ts';

describe('forgetGoneKernels', () => {
  const cases: Array<[method: string, url: string, status: number, forgotten: string[]]> = [
    ['DELETE', '/gw/api/kernels/k1', 204, ['k1']],
    ['GET', '/gw/api/kernels/k%201?x=1', 404, ['k 1']],
    ['DELETE', '/gw/api/kernels/k1', 500, []],
    ['GET', '/gw/api/kernels/k1', 200, []],
    ['POST', '/gw/api/kernels/k1', 404, []],
    ['GET', '/gw/api/kernels/k1/channels', 404, []],
    ['GET', '/gw/api/kernels/%E0%A4%A', 404, []],
  ];
  for (const [method, url, status, forgotten] of cases) {
    it(`${method} ${url} → ${status} forgets [${forgotten.join(', ')}]`, () => {
      const deleted: string[] = [];
      const kernelChats = { delete: async (id: string) => void deleted.push(id) } as unknown as KernelChatStore;
      const hook = forgetGoneKernels({ base: '/gw/', kernelChats, logger: quietLogger });
      hook({ statusCode: status } as IncomingMessage, { method, url } as Request);
      assert.deepEqual(deleted, forgotten);
    });
  }
});
