import { randomUUID } from 'node:crypto';
import type { EncodedFrame, OutgoingKernelMessage, WireCodec } from '../wire/kernel-frame.ts';

/**
 * What a kernel sends for an execute_request it aborts because an execution before it failed
 * with `stop_on_error` (ipykernel's `_send_abort_reply`): `status: busy`, an execute_reply whose
 * content is only `{status: 'aborted'}`, `status: idle`. The sidecar sends the same for a request
 * it held back (it never reached the kernel) when the execution it waited for failed, in the
 * kernel's name: the session, username and protocol version of `kernelHeader`, a header the
 * kernel sent.
 */
export function abortedExecution(
  codec: WireCodec,
  request: Record<string, unknown>,
  kernelHeader: Record<string, unknown>,
): EncodedFrame[] {
  const started = new Date().toISOString();
  const message = (
    channel: string,
    msgType: string,
    content: Record<string, unknown>,
    metadata: Record<string, unknown> = {},
  ): EncodedFrame => {
    const outgoing: OutgoingKernelMessage = {
      channel,
      header: {
        msg_id: randomUUID(),
        msg_type: msgType,
        username: kernelField(kernelHeader, 'username', 'kernel'),
        session: kernelField(kernelHeader, 'session', ''),
        date: new Date().toISOString(),
        version: kernelField(kernelHeader, 'version', '5.3'),
      },
      parent_header: request,
      metadata,
      content,
    };
    return codec.encodeMessage(outgoing);
  };
  return [
    message('iopub', 'status', { execution_state: 'busy' }),
    message('shell', 'execute_reply', { status: 'aborted' }, { started, dependencies_met: true, status: 'aborted' }),
    message('iopub', 'status', { execution_state: 'idle' }),
  ];
}

function kernelField(header: Record<string, unknown>, name: string, fallback: string): string {
  const value = header[name];
  return typeof value === 'string' ? value : fallback;
}
