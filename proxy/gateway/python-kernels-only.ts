import type { IncomingMessage } from 'node:http';
import { SidecarError } from '../errors.ts';
import { callGateway, queryOf } from './gateway-call.ts';
import { isPlainObject } from '../wire/kernel-frame.ts';

export class KernelNotPythonError extends SidecarError<'ERR_KERNEL_NOT_PYTHON'> {
  constructor(message: string) {
    super('ERR_KERNEL_NOT_PYTHON', message);
  }
}

/**
 * `--file-transport kernel` runs its collector in Python: a kernel of another language would
 * start, run, and never have a file recorded. So its creation is refused before the gateway
 * starts it, with what to do instead. The language is the kernelspec's, from the gateway's own
 * `/api/kernelspecs` (asked with the client's credentials); the kernel asked for by name, or the
 * gateway's default. Whatever the gateway cannot answer here (a refusal, an unknown name), it
 * answers the kernel request itself.
 */
export function pythonKernelsOnly(options: { gateway: URL; base: string; timeoutMs: number }) {
  return async (req: IncomingMessage, kernelName: unknown): Promise<void> => {
    const answer = await callGateway(options.gateway, req, `${options.base}api/kernelspecs${queryOf(req.url ?? '')}`, {
      timeoutMs: options.timeoutMs,
    });
    if (answer.status !== 200) return;
    let specs: unknown;
    try {
      specs = JSON.parse(answer.body.toString('utf8'));
    } catch {
      return;
    }
    if (!isPlainObject(specs) || !isPlainObject(specs.kernelspecs)) return;
    const name = typeof kernelName === 'string' && kernelName ? kernelName : specs.default;
    if (typeof name !== 'string') return;
    const entry = Object.hasOwn(specs.kernelspecs, name) ? specs.kernelspecs[name] : undefined;
    if (!isPlainObject(entry) || !isPlainObject(entry.spec)) return;
    const language = entry.spec.language;
    if (typeof language === 'string' && language.toLowerCase() === 'python') return;
    throw new KernelNotPythonError(
      `Kernel '${name}' runs ${typeof language === 'string' ? JSON.stringify(language.slice(0, 60)) : 'an unnamed language'}, and this sidecar collects files with --file-transport kernel, which works with Python kernels only. Give such kernels a workspace on a shared volume instead: run the sidecar with --file-transport shared and --workspace-root on a disk the kernel mounts too.`,
    );
  };
}
