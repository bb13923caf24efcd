import type { Logger } from '../logger.ts';
import type { TrackingPolicy } from '../workspace/tracking-policy.ts';
import type { WorkspaceSnapshot } from '../workspace/workspace-snapshot.ts';
import type { ChatState } from './chat-states.ts';

/**
 * The hard-link rule: a file with more than one link is recorded only when this sidecar wrote it
 * (an upload) or `--allow-hard-links` is on, since it may be another chat's file or a host file
 * the kernel linked in. Asked of the walk's entry and again of the opened file's fstat.
 */
export function refusesHardLink(
  policy: TrackingPolicy,
  state: Pick<ChatState, 'sidecarInodes'>,
  file: { nlink: number; ino: number },
): boolean {
  return !policy.allowHardLinks && file.nlink > 1 && !state.sidecarInodes.has(file.ino);
}

/** Leaves the refused hard-linked files out of a snapshot, logging each (path, inode) once. */
export function dropHardLinks(
  chatId: string,
  state: ChatState,
  snapshot: WorkspaceSnapshot,
  policy: TrackingPolicy,
  logger: Logger,
): void {
  if (policy.allowHardLinks) return;
  for (const [rel, entry] of snapshot) {
    if (!refusesHardLink(policy, state, entry)) continue;
    snapshot.delete(rel);
    if (state.refusedLinks.get(rel) === entry.ino) continue;
    state.refusedLinks.set(rel, entry.ino);
    logger.warn(
      `[artifacts] not recording ${rel} in chat ${chatId}: it has ${entry.nlink} hard links (it may be another chat's or a host file; --allow-hard-links records them)`,
    );
  }
}
