// The viewer on the real files API: a chat with files seeded in rounds, a file opened, a render awaited.
import type { GeneratedFilesElement } from '../../../widget/generated-files.ts';
import { item, mountReal, part, realApi, waitFor } from './widget.ts';

/** Opens a file from its row; resolves with the viewer once it shows that file. */
export async function open(el: GeneratedFilesElement, name: string): Promise<HTMLDialogElement> {
  part(item(el, name), 'preview-button')!.click();
  return waitFor(
    () => (part(el, 'viewer-title')?.textContent?.trim() === name ? (part(el, 'viewer') as HTMLDialogElement) : null),
    `the viewer showing ${name}`,
  );
}

/**
 * The first render of a kind on a render worker imports its parsers (seconds on a loaded
 * machine): wait for it longer than for an update, and say what the viewer showed instead.
 */
export function rendered<E extends Element>(el: GeneratedFilesElement, selector: string): Promise<E> {
  return waitFor(
    () => {
      const found = part(el, 'preview')?.querySelector<E>(selector);
      if (!found) throw new Error(`the viewer shows: ${part(el, 'preview')?.textContent?.trim().slice(0, 200)}`);
      return found;
    },
    selector,
    20_000,
  );
}

/** A chat on the real API whose files are written and scanned round by round (a round per version). */
export async function mountFiles(seeds: Record<string, string>[]) {
  const mounted = await mountReal({ live: 'off' });
  for (const files of seeds) await realApi.seed(mounted.chatId, files);
  await mounted.el.reload();
  await mounted.el.updateComplete;
  return mounted;
}
