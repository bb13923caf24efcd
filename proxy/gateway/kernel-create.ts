import path from 'node:path';
import type { NextFunction, Request, Response } from 'express';
import { isPlainObject } from '../wire/kernel-frame.ts';
import { chatFromRequest, ownerFromRequest } from '../chats/chat-request.ts';
import type { ChatAssignment } from '../chats/chat-assignment.ts';
import type { ChatOwners } from '../chats/chat-owners.ts';
import type { KernelChatStore } from '../chats/kernel-chats.ts';
import type { ProvisionalWorkspace, ProvisionalWorkspaces } from '../chats/provisional-workspaces.ts';
import type { Workspaces } from '../chats/workspaces.ts';
import { assertChatId } from '../chats/chat-id.ts';
import { kernelVolumeEnv, refuseClientVolumes, type KernelVolume } from './kernel-pod-volume.ts';

declare module 'express-serve-static-core' {
  interface Locals {
    /** The kernel-creation body sent on to the gateway, rewritten (`path`, `env`) or as received. */
    kernelBody?: Buffer;
    /** The kernel being created, settled once the gateway answers. */
    pendingKernel?: PendingKernel;
  }
}

export interface KernelCreateDeps {
  assignment: ChatAssignment;
  kernelChats: KernelChatStore;
  workspaces: Workspaces;
  provisional: ProvisionalWorkspaces;
  owners: ChatOwners;
  /** Jupyter Server's root_dir as the kernel sees it. */
  gatewayRootDir: string;
  /** Enterprise Gateway on Kubernetes: the claim each kernel pod mounts its chat's folder of; null: none. */
  kernelVolume?: KernelVolume | null;
  /** Refuses a kernel the sidecar cannot serve (`--file-transport kernel`: one not in Python), before it starts. */
  acceptsKernel?: (req: Request, kernelName: unknown) => Promise<void>;
}

export interface PendingKernel {
  chatId: string;
  owner: string | null;
  workspace: ProvisionalWorkspace;
  releaseOwner: () => void;
}

/**
 * Before `POST {base}api/kernels` reaches the gateway: pick the chat, create its workspace, and
 * make the workspace the kernel's working directory. Jupyter Server takes `path` relative to its
 * root_dir (and silently walks up when it does not exist, hence the folder is made first);
 * Kernel and Enterprise Gateway take `env.KERNEL_WORKING_DIR`. Open WebUI sends no body at all.
 * With a kernel volume configured, Enterprise Gateway's pod also mounts the chat's folder
 * (`kernel-pod-volume.ts`); a client's own volume variables are refused (400) either way.
 */
export function prepareKernelCreate(deps: KernelCreateDeps) {
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    let body: Record<string, unknown>;
    try {
      const parsed: unknown = raw.length ? JSON.parse(raw.toString('utf8')) : {};
      if (!isPlainObject(parsed)) throw new Error('not an object');
      body = parsed;
    } catch {
      // Not ours to judge: the gateway answers a malformed body itself.
      res.locals.kernelBody = raw;
      return next();
    }
    const reserved = await reserveKernel(deps, req, res, body);
    if (!reserved) return;
    res.locals.kernelBody = Buffer.from(JSON.stringify(reserved.body), 'utf8');
    res.locals.pendingKernel = reserved.pending;
    next();
  };
}

/**
 * Picks the new kernel's chat (prefix, X-Chat-Id, env.KERNEL_CHAT_ID, else the anonymous policy)
 * and owner, reserves them, opens the chat's workspace provisionally, and returns the kernel
 * body for the gateway with the workspace as the kernel's working directory. Until
 * `commitKernel` is called with an id, the response's end lets everything go again. Null: the
 * client left meanwhile (nothing is made for it).
 */
export async function reserveKernel(
  deps: KernelCreateDeps,
  req: Request,
  res: Response,
  body: Record<string, unknown>,
): Promise<{ body: Record<string, unknown>; pending: PendingKernel } | null> {
  const env = isPlainObject(body.env) ? { ...body.env } : {};
  refuseClientVolumes(env);
  await deps.acceptsKernel?.(req, body.name);
  const fromEnv =
    typeof env.KERNEL_CHAT_ID === 'string' && env.KERNEL_CHAT_ID ? assertChatId(env.KERNEL_CHAT_ID) : null;
  const chatId = deps.assignment.forNewKernel(chatFromRequest(req, res.locals.chatId ?? null) ?? fromEnv);
  const owner = ownerFromRequest(req) ?? (typeof env.KERNEL_USERNAME === 'string' ? env.KERNEL_USERNAME : null);
  const kernelCwd = deps.workspaces.kernelPathFor(chatId);
  const volumeEnv = deps.kernelVolume ? kernelVolumeEnv(deps.kernelVolume, chatId, kernelCwd) : {};

  // Nothing is remembered until the gateway answers 201: a refused request leaves nothing behind.
  const releaseOwner = await deps.owners.reserve(chatId, owner);
  let workspace: ProvisionalWorkspace;
  try {
    workspace = await deps.provisional.open(chatId);
  } catch (error) {
    releaseOwner();
    throw error;
  }
  const pending: PendingKernel = { chatId, owner, workspace, releaseOwner };
  // Gone already, during the awaits above: 'close' will not come again, and a gateway that is
  // down would leave nothing else to let go. No kernel is made for a client that is not there.
  if (res.destroyed) {
    await settle(pending, false);
    return null;
  }
  // Whatever the gateway did (refused, failed, never answered), the response ends: release then.
  // An accepted kernel committed first, so this is a no-op for it.
  res.once('close', () => void settle(pending, false));
  const relative = path.posix.relative(deps.gatewayRootDir, kernelCwd);
  if (!relative.startsWith('..') && !path.posix.isAbsolute(relative)) body.path = relative;
  body.env = { ...env, ...volumeEnv, KERNEL_WORKING_DIR: kernelCwd, KERNEL_CHAT_ID: chatId };
  return { body, pending };
}

async function settle(pending: PendingKernel, accepted: boolean): Promise<void> {
  pending.releaseOwner();
  if (accepted) pending.workspace.commit();
  else await pending.workspace.release();
}

/** After the gateway answered: remember which chat the new kernel belongs to, only if it made one. */
export function rememberCreatedKernel(deps: KernelCreateDeps) {
  return async (status: number, body: Buffer, res: Response): Promise<void> => {
    const pending = res.locals.pendingKernel;
    if (!pending) return;
    let id: unknown;
    if (status >= 200 && status < 300) {
      try {
        id = (JSON.parse(body.toString('utf8')) as { id?: unknown }).id;
      } catch {
        // no id: nothing to remember
      }
    }
    await commitKernel(deps, pending, typeof id === 'string' ? id : undefined);
  };
}

/** The gateway made kernel `id` (undefined: it made none): remember its chat and owner, keep its folder. */
export async function commitKernel(
  deps: KernelCreateDeps,
  pending: PendingKernel,
  id: string | undefined,
): Promise<void> {
  if (id === undefined) return settle(pending, false);
  try {
    await deps.kernelChats.set(id, {
      chatId: pending.chatId,
      owner: pending.owner,
      createdAt: new Date().toISOString(),
    });
    if (pending.owner) await deps.owners.claim(pending.chatId, pending.owner);
  } finally {
    await settle(pending, true);
  }
}
