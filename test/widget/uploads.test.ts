import { executeServerCommand, sendKeys } from '@web/test-runner-commands';
import type { GeneratedFilesUploadEvent } from '../../widget/generated-files.ts';
import {
  assert,
  assertEqual,
  captureDownloads,
  cleanup,
  mountReal,
  oneEvent,
  part,
  parts,
  realApi,
  uploadsReady,
  waitFor,
} from './support/widget.ts';

afterEach(cleanup);

/** Resolves with the first upload event of this phase. */
function phase(el: Element, name: string): Promise<GeneratedFilesUploadEvent> {
  return new Promise((resolve) =>
    el.addEventListener('generated-files-upload', function on(event) {
      const e = event as GeneratedFilesUploadEvent;
      if (e.detail.phase === name) {
        el.removeEventListener('generated-files-upload', on);
        resolve(e);
      }
    }),
  );
}

const file = (name: string, content: string | number) =>
  new File([typeof content === 'number' ? new Uint8Array(content) : content], name, { type: 'text/csv' });

describe('<generated-files> uploads, on the real files API', () => {
  it('a dropped file goes to the chosen folder with progress, and is listed as uploaded', async () => {
    const { el } = await mountReal({ uploads: true, live: 'off' }, { 'made.csv': 'x' });
    await oneEvent(el, 'load');
    await uploadsReady(el);
    const folder = part(el, 'upload-folder') as HTMLInputElement;
    folder.value = 'in';
    folder.dispatchEvent(new Event('input'));

    const start = phase(el, 'start');
    const progress = phase(el, 'progress');
    const done = phase(el, 'done');
    const drop = new DataTransfer();
    drop.items.add(file('sales.csv', 'region,total\neu,3\n'));
    part(el, 'base')!.dispatchEvent(new DragEvent('drop', { dataTransfer: drop, bubbles: true, cancelable: true }));
    const started = await start;
    assert(started.bubbles && started.composed && started.cancelable, 'bubbles, composed, cancelable');
    assertEqual(started.detail.path, 'in/sales.csv');
    assertEqual((await progress).detail.total, 18);
    const { detail } = await done;
    assertEqual(detail.summary?.source, 'upload');
    assertEqual(detail.summary?.path, 'in/sales.csv');
    await el.updateComplete;
    assertEqual(part(part(el, 'uploaded-list')!, 'name')?.textContent, 'sales.csv');
    assert(!part(el, 'list')!.textContent!.includes('sales.csv'), 'apart from the code files');
    await waitFor(
      () => part(el, 'status')?.textContent === 'Uploaded sales.csv to /mnt/data/in/sales.csv',
      'announced',
    );
  });

  it('a picked file (keyboard: the native input) uploads; a canceled start sends nothing', async () => {
    const { el } = await mountReal({ uploads: true, live: 'off' });
    await oneEvent(el, 'load');
    await uploadsReady(el);
    const input = el.shadowRoot!.querySelector<HTMLInputElement>('input[type=file]')!;
    input.focus();
    assertEqual(el.shadowRoot!.activeElement, input, 'the picker is reachable by keyboard');
    el.addEventListener(
      'generated-files-upload',
      (e) => e.detail.phase === 'start' && e.detail.file.name === 'no.csv' && e.preventDefault(),
    );
    const done = phase(el, 'done');
    const picked = new DataTransfer();
    picked.items.add(file('no.csv', 'n'));
    picked.items.add(file('yes.csv', 'y'));
    input.files = picked.files;
    input.dispatchEvent(new Event('change'));
    assertEqual((await done).detail.path, 'yes.csv');
    assertEqual(
      el.files.map((f) => f.name),
      ['yes.csv'],
    );
  });

  it('says why for each refusal: too large (with the limit), a refused name', async () => {
    const { el } = await mountReal({ uploads: true, live: 'off' });
    await oneEvent(el, 'load');
    const refused = async (f: File) => {
      const error = phase(el, 'error');
      el.upload([f]);
      await error;
      await el.updateComplete;
      return parts(el, 'upload').at(-1)!.textContent!.replace(/\s+/g, ' ');
    };
    assert(
      (await refused(file('big.csv', 70_000))).includes('big.csv is too large: the limit is 65.5 kB.'),
      'too large',
    );
    assert((await refused(file('.hidden', 'h'))).includes('.hidden refused: Invalid upload path'), 'refused name');
  });

  it('asks before replacing an existing file, then replaces it', async () => {
    const { el } = await mountReal({ uploads: true, live: 'off' }, { 'a.csv': 'old' });
    await oneEvent(el, 'load');
    el.upload([file('a.csv', 'new')]);
    await el.updateComplete;
    const row = part(el, 'upload')!;
    assert(row.textContent!.includes('a.csv exists. Replace it?'), row.textContent!);
    const done = phase(el, 'done');
    part(row, 'upload-replace-button')!.click();
    assertEqual((await done).detail.summary?.version, 2);
  });

  it('cancels an upload in flight: held at the sidecar until the cancel has landed', async () => {
    const { el, chatId } = await mountReal({ uploads: true, live: 'off' });
    await oneEvent(el, 'load');
    await realApi.hold(chatId);
    const error = phase(el, 'error');
    await el.upload([file('slow.csv', 'x')]);
    // The request has reached the sidecar, which answers only when the test says so.
    await realApi.held(chatId);
    await el.updateComplete;
    part(el, 'upload-cancel-button')!.click();
    assertEqual((await error).detail.error?.name, 'AbortError');
    // The cancel has landed: the sidecar has seen the connection close before the routes read the body.
    await realApi.gone(chatId);
    await realApi.release(chatId);
    await el.updateComplete;
    assert(part(el, 'upload')!.textContent!.includes('slow.csv: canceled.'), 'says so');
    await el.reload();
    assert(!el.files.some((f) => f.name === 'slow.csv'), 'nothing was recorded');
  });

  it("says when a file does not fit in the chat's quota", async () => {
    // Four files of 60 kB fit the 256 KiB quota; a fifth does not. (Tracked names: an
    // untracked .bin would count for nothing, and the fifth would fit.)
    const { el } = await mountReal(
      { uploads: true, live: 'off' },
      Object.fromEntries([1, 2, 3, 4].map((n) => [`part${n}.csv`, String(n).repeat(60_000)])),
    );
    await oneEvent(el, 'load');
    const error = phase(el, 'error');
    await el.upload([file('fifth.csv', 60_000)]);
    const { detail } = await error;
    assertEqual((detail.error as Error & { code?: string }).code, 'ERR_QUOTA_EXCEEDED');
    await el.updateComplete;
    assert(
      part(el, 'upload')!.textContent!.includes("fifth.csv does not fit in this chat's quota."),
      part(el, 'upload')!.textContent!,
    );
  });

  it('reads the refusal of a body far over the limit (not a dropped connection)', async () => {
    const { el } = await mountReal({ uploads: true, live: 'off' });
    await oneEvent(el, 'load');
    const error = phase(el, 'error');
    await el.upload([file('huge.csv', 64_000_000)]);
    assertEqual((await error).detail.error?.message, 'Uploads are limited to 65536 bytes.');
  });

  it('works from the keyboard alone: Tab to the paperclip, on to "Advanced", open it, type a folder, back to the paperclip, Space, pick', async () => {
    const before = document.createElement('button');
    before.textContent = 'before';
    document.body.prepend(before);
    try {
      const { el } = await mountReal({ uploads: true, live: 'off' });
      await oneEvent(el, 'load');
      await uploadsReady(el);
      before.focus();
      const input = el.shadowRoot!.querySelector<HTMLInputElement>('input[type=file]')!;
      const folder = part(el, 'upload-folder')!;
      assert(!folder.checkVisibility(), 'the folder field is folded away, under "Advanced"');
      await sendKeys({ press: 'Tab' });
      assertEqual(el.shadowRoot!.activeElement, input, 'Tab reaches the paperclip (the picker) first');
      await sendKeys({ press: 'Tab' });
      assertEqual(el.shadowRoot!.activeElement, part(el, 'upload-advanced')!.querySelector('summary'), 'then Advanced');
      await sendKeys({ press: 'Enter' });
      await waitFor(() => folder.checkVisibility(), 'the folder field shown');
      await sendKeys({ press: 'Tab' });
      assertEqual(el.shadowRoot!.activeElement, folder, 'then the folder field');
      await sendKeys({ type: 'kb' });
      await sendKeys({ down: 'Shift' });
      await sendKeys({ press: 'Tab' });
      await sendKeys({ press: 'Tab' });
      await sendKeys({ up: 'Shift' });
      assertEqual(el.shadowRoot!.activeElement, input, 'and back to the paperclip');
      assert(getComputedStyle(part(el, 'upload-button')!).outlineStyle !== 'none', 'its label shows the focus');
      const done = phase(el, 'done');
      await executeServerCommand('file-chooser-arm');
      await sendKeys({ press: 'Space' });
      await executeServerCommand('file-chooser-accept', { name: 'keys.csv', content: 'k,v\n1,2\n' });
      assertEqual((await done).detail.path, 'kb/keys.csv');
      await waitFor(
        () => part(el, 'status')?.textContent === 'Uploaded keys.csv to /mnt/data/kb/keys.csv',
        'announced',
      );
    } finally {
      before.remove();
    }
  });
});

describe('<generated-files> big downloads, on the real files API', () => {
  it('hands a file over the threshold to the browser as a link whose token opens only that file', async () => {
    const capture = captureDownloads();
    try {
      const { el, origin, chatId } = await mountReal(
        { live: 'off', 'link-threshold': '2' },
        { 'big.csv': 'big content', 'other.csv': 'other' },
      );
      await oneEvent(el, 'load');
      await el.updateComplete;
      assert(part(el, 'download-all-size')!.textContent!.includes('16 B'), 'the zip size, before it starts');
      await el.download(el.files.find((f) => f.name === 'big.csv')!);
      const [link] = capture.downloads;
      assert(
        link && link.href.startsWith(`${origin}/sidecar/v1/`) && link.href.includes('token='),
        `a plain link, got ${link?.href}`,
      );
      assertEqual(await (await fetch(link.href)).text(), 'big content');
      const token = new URL(link.href).searchParams.get('token')!;
      const other = el.files.find((f) => f.name === 'other.csv')!;
      assertEqual((await fetch(`${origin}${other.downloadUrl}?token=${token}`)).status, 403, 'another file');
      assertEqual((await fetch(`${origin}/sidecar/v1/chats/${chatId}/files?token=${token}`)).status, 403, 'the list');
    } finally {
      capture.restore();
    }
  });
});
