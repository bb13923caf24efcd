// The viewer on the sidecar's real files API: real previews and diffs from its render workers, real
// restores. The keyboard alone, and axe in both colour schemes (formats: viewer-formats.test.ts).
import { emulateMedia, sendKeys } from '@web/test-runner-commands';
import type { GeneratedFilesElement } from '../../widget/generated-files.ts';
import { assertAccessible } from './support/axe.ts';
import { mountFiles, open, rendered } from './support/viewer.ts';
import { assert, assertEqual, cleanup, item, part, waitFor } from './support/widget.ts';

afterEach(async () => {
  cleanup();
  await emulateMedia({ colorScheme: 'light' });
});

const active = (el: GeneratedFilesElement) => el.shadowRoot!.activeElement as HTMLElement | null;

/** Presses Tab until `target` has focus (as a person would), failing after `max` presses. */
async function tabTo(el: GeneratedFilesElement, target: () => Element | null, max = 40): Promise<void> {
  for (let i = 0; i < max; i++) {
    if (target() && active(el) === target()) return;
    await sendKeys({ press: 'Tab' });
  }
  assert(false, `Tab never reached ${target()?.outerHTML.slice(0, 120) ?? 'the target'}`);
}

const shown = (el: GeneratedFilesElement) => part(el, 'viewer-title')?.textContent?.trim();

describe('<generated-files> viewer', function () {
  this.timeout(60_000);

  it('works from the keyboard alone: row → viewer → arrow to the next file → restore → Undo → Esc back to the row', async () => {
    const { el } = await mountFiles([
      { 'a.csv': 'id,v\n1,first\n' },
      { 'a.csv': 'id,v\n1,second\n' },
      { 'z.txt': 'newest' },
    ]);
    assertEqual(
      el.files.map((f) => f.name),
      ['z.txt', 'a.csv'],
      'newest first',
    );
    const second = el.files[1]!;
    assertEqual(second.version, 2);

    await tabTo(el, () => part(item(el, 'z.txt'), 'preview-button'));
    await sendKeys({ press: 'Enter' });
    const dialog = await waitFor(
      () => (active(el) === part(el, 'viewer-close') ? (part(el, 'viewer') as HTMLDialogElement) : null),
      'the viewer open, focus on Close',
    );
    assert(dialog.matches(':modal'), 'a modal dialog: the page behind is inert');
    assertEqual(dialog.getAttribute('aria-labelledby'), 'viewer-title');
    assertEqual(shown(el), 'z.txt');
    assertEqual((await rendered(el, 'pre')).textContent, 'newest');

    await sendKeys({ press: 'ArrowRight' });
    await waitFor(() => shown(el) === 'a.csv', 'the next file, a.csv');
    await rendered(el, 'td');
    assert(part(el, 'viewer-meta')!.textContent!.includes('file 2 of 2'), part(el, 'viewer-meta')!.textContent!);
    assertEqual((part(el, 'viewer-next') as HTMLButtonElement).disabled, true, 'no file past the last');

    await tabTo(el, () => part(el, 'restore-button'));
    assertEqual(active(el)!.getAttribute('aria-label'), 'Restore version 1');
    await sendKeys({ press: 'Enter' });
    await waitFor(() => active(el)?.textContent === 'Yes, restore', 'asked first, focus on the answer');
    await sendKeys({ press: 'Enter' });
    const status = await waitFor(
      () => {
        if (active(el) !== part(el, 'undo-button'))
          throw new Error(
            `said "${part(el, 'restore-status')?.textContent?.trim()}", focus on ${active(el)?.outerHTML.slice(0, 80)}`,
          );
        return part(el, 'restore-status');
      },
      'the restore message, focus on Undo',
      20_000,
    );
    assertEqual(status.querySelector('span')!.textContent, 'Version 1 restored as version 3.');
    assertEqual(status.getAttribute('role'), 'status');
    await waitFor(
      () => [...part(el, 'preview')!.querySelectorAll('td')].some((td) => td.textContent === 'first'),
      'version 3 shown, with version 1 bytes',
      20_000,
    );
    assertEqual(el.files.find((f) => f.name === 'a.csv')!.version, 3, 'the list has the new version at once');

    await sendKeys({ press: 'Enter' });
    await waitFor(
      () =>
        part(el, 'restore-status')?.querySelector('span')?.textContent ===
        'Undone: version 2 is current again, as version 4.',
      'Undo said',
      20_000,
    );
    assert(!part(el, 'undo-button'), 'no Undo of the Undo');
    const latest = el.files.find((f) => f.name === 'a.csv')!;
    assertEqual(latest.version, 4);
    assertEqual(latest.sha256, second.sha256, 'version 4 has the bytes that were current before the restore');
    await waitFor(
      () => [...part(el, 'preview')!.querySelectorAll('td')].some((td) => td.textContent === 'second'),
      'version 4 shown',
      20_000,
    );

    await sendKeys({ press: 'Escape' });
    await waitFor(() => !part(el, 'viewer'), 'Esc closed the viewer');
    await waitFor(
      () => active(el) === part(item(el, 'a.csv'), 'preview-button'),
      'focus on the row of the file shown last',
    );
  });

  it('has no axe violations in light and dark mode, with a preview and with a text diff open', async () => {
    const { el } = await mountFiles([
      { 'notes.txt': 'one\ntwo\nthree\n', 'table.csv': 'name,amount\nx,1\ny,22\n' },
      { 'notes.txt': 'one\n2\nthree\nfour\n' },
    ]);
    await open(el, 'table.csv');
    await rendered(el, 'td');
    await assertAccessible(el);
    const light = getComputedStyle(part(el, 'viewer')!).backgroundColor;
    await emulateMedia({ colorScheme: 'dark' });
    await waitFor(() => getComputedStyle(part(el, 'viewer')!).backgroundColor !== light, 'dark viewer');
    await assertAccessible(el);

    await sendKeys({ press: 'ArrowLeft' });
    await waitFor(() => shown(el) === 'notes.txt', 'notes.txt');
    part(el, 'diff-button')!.click();
    const patch = await rendered(el, '.patch .add');
    const lines = [...part(el, 'preview')!.querySelectorAll('.patch span')];
    assertEqual(
      lines.filter((l) => l.className === 'add').map((l) => l.textContent),
      ['+2\n', '+four\n'],
    );
    assertEqual(
      lines.filter((l) => l.className === 'del').map((l) => l.textContent),
      ['-two\n'],
    );
    const darkAdd = getComputedStyle(patch).backgroundColor;
    await assertAccessible(el);
    await emulateMedia({ colorScheme: 'light' });
    await waitFor(() => getComputedStyle(patch).backgroundColor !== darkAdd, 'light diff colours');
    await assertAccessible(el);
  });
});
