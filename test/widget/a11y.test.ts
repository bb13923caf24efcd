import { emulateMedia } from '@web/test-runner-commands';
import {
  assert,
  assertEqual,
  cleanup,
  json,
  makeFile,
  tablePreview,
  mount,
  mountReal,
  oneEvent,
  part,
  parts,
  realApi,
  route,
  server,
  uniqueChatId,
  uploadsReady,
  waitFor,
} from './support/widget.ts';
import { assertAccessible } from './support/axe.ts';
import type { GeneratedFilesUploadEvent } from '../../widget/generated-files.ts';

async function listWithEverything() {
  const chatId = uniqueChatId('a11y');
  const csv = makeFile(chatId, 'out/table.csv', { versions: 3, mimeType: 'text/csv' });
  await server.setup(chatId, {
    files: [csv, makeFile(chatId, 'report.pdf', { mimeType: 'application/pdf' }), makeFile(chatId, 'notes.txt')],
    skipped: [{ path: 'big.bin', size: 2e9, reason: 'too-large', at: new Date().toISOString() }],
    contents: { [csv.id]: 'a,b\n1,2\n' },
    answers: tablePreview(csv, [
      ['a', 'b'],
      ['1', '2'],
    ]),
  });
  const el = mount({ 'chat-id': chatId, live: 'off' });
  await oneEvent(el, 'load');
  await el.updateComplete;
  (part(el, 'versions') as HTMLDetailsElement).open = true;
  part(el, 'preview-button')!.click();
  await waitFor(() => part(el, 'preview')?.querySelector('table'), 'preview');
  return el;
}

afterEach(async () => {
  cleanup();
  await emulateMedia({ colorScheme: 'light' });
});

describe('<generated-files> accessibility', () => {
  it('has no axe violations with a list, versions, a preview and skipped files', async () => {
    await assertAccessible(await listWithEverything());
  });

  it('has no axe violations in dark mode, whose colors differ', async () => {
    const el = await listWithEverything();
    const light = getComputedStyle(el).backgroundColor;
    await emulateMedia({ colorScheme: 'dark' });
    await waitFor(() => getComputedStyle(el).backgroundColor !== light, 'dark background');
    await assertAccessible(el);
  });

  it('has no axe violations in the empty, loading and error states', async () => {
    const chatId = uniqueChatId();
    const empty = mount({ 'chat-id': chatId, live: 'off' }, (el) =>
      route(el, () => json({ chatId, files: [], skipped: [] })),
    );
    const loading = mount({ 'chat-id': chatId, live: 'off' }, (el) => route(el, () => new Promise<Response>(() => {})));
    const error = mount({ 'chat-id': chatId, live: 'off' }, (el) =>
      route(el, () => json({ error: { code: 'X', message: 'down' } }, 500)),
    );
    await waitFor(() => empty.state === 'ready' && error.state === 'error' && loading.state === 'loading', 'states');
    await Promise.all([empty.updateComplete, error.updateComplete]);
    for (const el of [empty, loading, error]) await assertAccessible(el);
  });

  it('has no axe violations in the upload area: uploading, refused, asking to replace; nor in the whole element with uploads', async () => {
    const { el, chatId } = await mountReal({ uploads: true, live: 'off' }, { 'a.csv': 'old' });
    await oneEvent(el, 'load');
    await uploadsReady(el);
    assert(part(el, 'uploads'), 'the upload area');
    await assertAccessible(part(el, 'uploads')!);

    // One upload held at the sidecar (a progress bar), one refused, one asking to replace.
    await realApi.hold(chatId);
    await el.upload([new File(['x'], 'held.csv')]);
    await realApi.held(chatId);
    const refused = new Promise<void>((resolve) =>
      el.addEventListener(
        'generated-files-upload',
        (e: GeneratedFilesUploadEvent) => e.detail.phase === 'error' && resolve(),
      ),
    );
    await el.upload([new File(['h'], '.hidden')]);
    await refused;
    await el.upload([new File(['new'], 'a.csv')]);
    await el.updateComplete;
    assertEqual(
      parts(el, 'upload').map((u) => u.dataset.state),
      ['uploading', 'error', 'conflict'],
    );
    await assertAccessible(el);
    await realApi.release(chatId);
  });

  it('uses native buttons with names and a polite status', async () => {
    const el = await listWithEverything();
    for (const button of el.shadowRoot!.querySelectorAll('button')) {
      assertEqual(button.getAttribute('type'), 'button', 'no accidental form submit');
      assert((button.getAttribute('aria-label') ?? button.textContent ?? '').trim(), 'named');
    }
    const status = part(el, 'status')!;
    assertEqual(status.getAttribute('role'), 'status');
    assertEqual(status.getAttribute('aria-live'), 'polite');
    // Keyboard focus shows an outline.
    const button = part(el, 'download-button')!;
    button.focus();
    assertEqual(el.shadowRoot!.activeElement, button, 'focusable');
  });
});
