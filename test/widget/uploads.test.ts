import type { GeneratedFilesUploadEvent } from '../../widget/generated-files.ts';
import { assert, assertEqual, captureDownloads, cleanup, mountReal, oneEvent, part, parts, uploadsReady, waitFor } from './support/widget.ts';

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
    await waitFor(() => part(el, 'status')?.textContent === 'Uploaded sales.csv to /mnt/data/in/sales.csv', 'announced');
  });

  it('a picked file (keyboard: the native input) uploads; a canceled start sends nothing', async () => {
    const { el } = await mountReal({ uploads: true, live: 'off' });
    await oneEvent(el, 'load');
    await uploadsReady(el);
    const input = el.shadowRoot!.querySelector<HTMLInputElement>('input[type=file]')!;
    input.focus();
    assertEqual(el.shadowRoot!.activeElement, input, 'the picker is reachable by keyboard');
    el.addEventListener('generated-files-upload', (e) => e.detail.phase === 'start' && e.detail.file.name === 'no.csv' && e.preventDefault());
    const done = phase(el, 'done');
    const picked = new DataTransfer();
    picked.items.add(file('no.csv', 'n'));
    picked.items.add(file('yes.csv', 'y'));
    input.files = picked.files;
    input.dispatchEvent(new Event('change'));
    assertEqual((await done).detail.path, 'yes.csv');
    assertEqual(el.files.map((f) => f.name), ['yes.csv']);
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
    assert((await refused(file('big.csv', 70_000))).includes('big.csv is too large: the limit is 65.5 kB.'), 'too large');
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

  it('cancels an upload in flight', async () => {
    const { el } = await mountReal({ uploads: true, live: 'off' });
    await oneEvent(el, 'load');
    // Held at the seam, so the cancel always lands before the sidecar answers.
    const real = el.sendUpload.bind(el);
    el.sendUpload = (request) => {
      const transfer = real({ ...request, url: request.url });
      return { abort: transfer.abort, response: new Promise((resolve, reject) => setTimeout(() => transfer.response.then(resolve, reject), 0)) };
    };
    const error = phase(el, 'error');
    el.upload([file('slow.csv', 'x')]);
    await el.updateComplete;
    part(el, 'upload-cancel-button')!.click();
    assertEqual((await error).detail.error?.name, 'AbortError');
    await el.updateComplete;
    assert(part(el, 'upload')!.textContent!.includes('slow.csv: canceled.'), 'says so');
  });
});

describe('<generated-files> big downloads, on the real files API', () => {
  it('hands a file over the threshold to the browser as a link whose token opens only that file', async () => {
    const capture = captureDownloads();
    try {
      const { el, origin, chatId } = await mountReal({ live: 'off', 'link-threshold': '2' }, { 'big.csv': 'big content', 'other.csv': 'other' });
      await oneEvent(el, 'load');
      await el.updateComplete;
      assert(part(el, 'download-all-size')!.textContent!.includes('16 B'), 'the zip size, before it starts');
      await el.download(el.files.find((f) => f.name === 'big.csv')!);
      const [link] = capture.downloads;
      assert(link && link.href.startsWith(`${origin}/sidecar/v1/`) && link.href.includes('token='), `a plain link, got ${link?.href}`);
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
