import { randomUUID } from 'node:crypto';
import { SidecarError } from '../errors.ts';
import type { KernelChatStore } from './kernel-chats.ts';

/** Which chat a kernel nobody named one for gets (--anonymous-chat). */
export type AnonymousChatPolicy = { kind: 'per-kernel' } | { kind: 'reject' } | { kind: 'fixed'; chatId: string };

/** A request for a chat or kernel the sidecar refuses (status: errors.ts's table). */
export class ChatAssignmentError extends SidecarError<
  'ERR_CHAT_REQUIRED' | 'ERR_KERNEL_OTHER_CHAT' | 'ERR_CHAT_OTHER_OWNER'
> {}

/**
 * Decides which chat a kernel belongs to. An explicit chat (path prefix, X-Chat-Id, KERNEL_CHAT_ID)
 * wins for a new kernel; a known kernel keeps the chat it was created for, and a request naming
 * another chat for it is refused. Kernels nobody named a chat for follow the anonymous policy,
 * which by default gives each its own workspace, so two chats never share one by accident.
 */
export class ChatAssignment {
  constructor(
    private readonly kernelChats: KernelChatStore,
    private readonly anonymous: AnonymousChatPolicy,
  ) {}

  forNewKernel(explicit: string | null): string {
    if (explicit) return explicit;
    switch (this.anonymous.kind) {
      case 'fixed':
        return this.anonymous.chatId;
      case 'reject':
        throw new ChatAssignmentError(
          'ERR_CHAT_REQUIRED',
          'This sidecar needs a chat id: use /chats/{chatId}/ as the base URL, an X-Chat-Id header, or env.KERNEL_CHAT_ID.',
        );
      case 'per-kernel':
        return `anon-${randomUUID()}`;
    }
  }

  /**
   * For a call on an existing kernel (its WebSocket). A kernel it does not know yet (started
   * before the sidecar, or straight on the gateway) is remembered only once the gateway accepted
   * the connection: call `remember` then, so refused requests leave nothing behind.
   */
  async forKernel(
    kernelId: string,
    explicit: string | null,
    owner: string | null,
  ): Promise<{ chatId: string; owner: string | null; remember?: () => Promise<void> }> {
    const known = await this.kernelChats.get(kernelId);
    if (known) {
      if (explicit && explicit !== known.chatId) {
        throw new ChatAssignmentError('ERR_KERNEL_OTHER_CHAT', `Kernel ${kernelId} belongs to another chat.`);
      }
      return { chatId: known.chatId, owner: known.owner };
    }
    const chatId = explicit ?? (this.anonymous.kind === 'fixed' ? this.anonymous.chatId : null);
    if (!chatId && this.anonymous.kind === 'reject') this.forNewKernel(null);
    const assigned = chatId ?? `kernel-${kernelId}`;
    const remember = async () => {
      // Another connection may have remembered it meanwhile: the first pairing stays.
      if (!(await this.kernelChats.get(kernelId)))
        await this.kernelChats.set(kernelId, { chatId: assigned, owner, createdAt: new Date().toISOString() });
    };
    return { chatId: assigned, owner, remember };
  }

  /** The gateway says it has no such kernel (any more): forget its chat. */
  forget(kernelId: string): Promise<void> {
    return this.kernelChats.delete(kernelId);
  }
}
