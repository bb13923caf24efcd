import { randomUUID } from 'node:crypto';
import type { OutgoingKernelMessage } from '../wire/kernel-frame.ts';

/**
 * Marks the card in the message's own metadata (not the display's, which notebooks save): the
 * MCP server, a Jupyter client of this sidecar, leaves it out of a tool's text and builds its own.
 */
export const FILE_CARD_MARK = 'generated_files_card';

/**
 * The card as an iopub display_data of the execution: its parent is the execute_request's
 * header, and its session, username and protocol version are the kernel's, read from the
 * execution's own message (`kernelHeader`), so clients file it with the execution's outputs.
 */
export function fileCardMessage(
  requestHeader: Record<string, unknown>,
  kernelHeader: Record<string, unknown> | undefined,
  data: Record<string, string>,
  now = new Date(),
): OutgoingKernelMessage {
  const field = (name: string, fallback: string) =>
    typeof kernelHeader?.[name] === 'string' ? (kernelHeader[name] as string) : fallback;
  return {
    channel: 'iopub',
    header: {
      msg_id: randomUUID(),
      msg_type: 'display_data',
      username: field('username', 'kernel'),
      session: field('session', ''),
      date: now.toISOString(),
      version: field('version', '5.3'),
    },
    parent_header: requestHeader,
    metadata: { [FILE_CARD_MARK]: true },
    content: { data, metadata: {}, transient: {} },
  };
}
