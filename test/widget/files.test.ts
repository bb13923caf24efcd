import type { GeneratedFilesDownloadEvent } from '../../widget/generated-files.ts';
import {
  assert,
  assertEqual,
  captureDownloads,
  cleanup,
  item,
  makeFile,
  tablePreview,
  mount,
  oneEvent,
  part,
  parts,
  server,
  uniqueChatId,
  waitFor,
} from './support/widget.ts';

let capture: ReturnType<typeof captureDownloads>;
beforeEach(() => {
  capture = captureDownloads();
});
afterEach(() => {
  capture.restore();
  cleanup();
});

async function blobText(href: string): Promise<string> {
  return (await fetch(href)).text();
}

describe('<generated-files> files', () => {
  it('downloads the real bytes under the real name, via an object URL', async () => {
    const chatId = uniqueChatId();
    const file = makeFile(chatId, 'out/report.xlsx');
    await server.setup(chatId, { files: [file], contents: { [file.id]: 'spreadsheet bytes' } });
    const el = mount({ 'chat-id': chatId, live: 'off' });
    await oneEvent(el, 'load');
    await el.updateComplete;

    const event = oneEvent<GeneratedFilesDownloadEvent>(document, 'generated-files-download');
    part(item(el, 'report.xlsx'), 'download-button')?.click();
    const { detail, composed, bubbles } = await event;
    assert(bubbles && composed, 'bubbles and composed');
    assertEqual(detail.file?.path, 'out/report.xlsx');
    assertEqual(detail.version?.id, file.id);
    assertEqual(detail.name, 'report.xlsx');

    await waitFor(() => capture.downloads.length === 1, 'the download click');
    const [download] = capture.downloads;
    assertEqual(download!.name, 'report.xlsx');
    assert(download!.href.startsWith('blob:'), `an object URL, got ${download!.href}`);
    assertEqual(await blobText(download!.href), 'spreadsheet bytes');
    await waitFor(() => part(el, 'status')?.textContent === 'Downloaded report.xlsx', 'announced');
    assertEqual(part(el, 'status')?.getAttribute('aria-live'), 'polite');
  });

  it('shows a name with a right-to-left override isolated and without the override, and saves it without (issue 16)', async () => {
    const chatId = uniqueChatId();
    const spoof = 'report\u202efdp.csv';
    const file = makeFile(chatId, spoof);
    await server.setup(chatId, { files: [file], contents: { [file.id]: '<script>' } });
    const el = mount({ 'chat-id': chatId, live: 'off' });
    await oneEvent(el, 'load');
    await el.updateComplete;
    const row = item(el, 'reportfdp.csv');
    const shown = part(row, 'name')!;
    assert(shown.querySelector('bdi'), 'the name is in a <bdi>');
    assertEqual(shown.textContent, 'reportfdp.csv');
    part(row, 'download-button')?.click();
    await waitFor(() => capture.downloads.length === 1, 'the download click');
    assertEqual(capture.downloads[0]!.name, 'reportfdp.csv');
  });

  it('lets a listener cancel the download', async () => {
    const chatId = uniqueChatId();
    await server.setup(chatId, { files: [makeFile(chatId, 'a.txt')] });
    const el = mount({ 'chat-id': chatId, live: 'off' });
    await oneEvent(el, 'load');
    el.addEventListener('generated-files-download', (e) => e.preventDefault(), { once: true });
    await el.download(el.files[0]!);
    assertEqual(capture.downloads.length, 0);
    assertEqual((await server.log(chatId)).filter((r) => r.path.endsWith('/content')).length, 0);
  });

  it('shows a version badge and downloads an older version', async () => {
    const chatId = uniqueChatId();
    const file = makeFile(chatId, 'data.csv', { versions: 3, id: 'data' });
    await server.setup(chatId, {
      files: [file, makeFile(chatId, 'single.txt')],
      contents: { data: 'v3', 'data.v2': 'v2', 'data.v1': 'v1' },
    });
    const el = mount({ 'chat-id': chatId, live: 'off' });
    await oneEvent(el, 'load');
    await el.updateComplete;

    const row = item(el, 'data.csv');
    assertEqual(part(row, 'version-badge')?.textContent?.replace(/\s+/g, ' ').trim(), 'v3, version 3');
    assert(!part(item(el, 'single.txt'), 'version-badge'), 'no badge for one version');
    assert(!part(item(el, 'single.txt'), 'versions'), 'no version list for one version');

    const details = part(row, 'versions') as HTMLDetailsElement;
    assertEqual(details.localName, 'details');
    details.querySelector('summary')!.click();
    assert(details.open, 'opens');
    const versionRows = parts(details, 'version');
    assertEqual(
      versionRows.map((v) => v.textContent!.trim().split(' ')[1]),
      ['3', '2', '1'],
    );
    const buttons = parts(details, 'version-download-button');
    assertEqual(buttons[1]?.getAttribute('aria-label'), 'Download data.csv, version 2');

    const event = oneEvent<GeneratedFilesDownloadEvent>(el, 'generated-files-download');
    buttons[1]!.click();
    assertEqual((await event).detail.version?.version, 2);
    await waitFor(() => capture.downloads.length === 1, 'download');
    assertEqual(capture.downloads[0]!.name, 'data.csv');
    assertEqual(await blobText(capture.downloads[0]!.href), 'v2');
  });

  it('"Download all" saves the zip', async () => {
    const chatId = uniqueChatId('zip');
    await server.setup(chatId, { files: [makeFile(chatId, 'a.txt')] });
    const el = mount({ 'chat-id': chatId, live: 'off' });
    await oneEvent(el, 'load');
    await el.updateComplete;
    const event = oneEvent<GeneratedFilesDownloadEvent>(el, 'generated-files-download');
    part(el, 'download-all-button')!.click();
    const { detail } = await event;
    assertEqual(detail.file, null);
    assert(detail.url.endsWith(`/sidecar/v1/chats/${chatId}/archive.zip`), detail.url);
    await waitFor(() => capture.downloads.length === 1, 'download');
    assertEqual(capture.downloads[0]!.name, `${chatId}-files.zip`);
    assert((await blobText(capture.downloads[0]!.href)).includes('fixture-zip'), 'zip bytes');
  });

  it('previews a CSV as a table, quoted fields included', async () => {
    const chatId = uniqueChatId();
    const file = makeFile(chatId, 'people.csv', { mimeType: 'text/csv' });
    const csv = 'name,notes,amount\r\n"Doe, Jane","said ""hi""\nthen left",12\r\nBob,,3\r\n';
    // The sidecar parses the CSV (test/previews covers that); the element shows its JSON.
    await server.setup(chatId, {
      files: [file],
      contents: { [file.id]: csv },
      answers: tablePreview(file, [
        ['name', 'notes', 'amount'],
        ['Doe, Jane', 'said "hi"\nthen left', '12'],
        ['Bob', '', '3'],
      ]),
    });
    const el = mount({ 'chat-id': chatId, live: 'off' });
    await oneEvent(el, 'load');
    await el.updateComplete;
    const toggle = part(el, 'preview-button')!;
    assertEqual(toggle.getAttribute('aria-haspopup'), 'dialog');
    toggle.focus();
    toggle.click();
    const table = await waitFor(() => part(el, 'preview')?.querySelector('table'), 'the table');
    assert(part(el, 'viewer')!.contains(part(el, 'preview')), 'in the viewer');
    assertEqual(
      [...table.querySelectorAll('th')].map((c) => c.textContent!.trim()),
      ['name', 'notes', 'amount'],
    );
    const cells = [...table.querySelectorAll('tbody tr')].map((r) =>
      [...r.querySelectorAll('td')].map((c) => c.textContent),
    );
    assertEqual(cells, [
      ['Doe, Jane', 'said "hi"\nthen left', '12'],
      ['Bob', '', '3'],
    ]);
    assert(
      (await server.log(chatId)).some((r) => r.path.endsWith(`/files/${file.id}/preview`)),
      'asked the sidecar for the preview',
    );
    part(el, 'viewer-close')!.click();
    await waitFor(() => !part(el, 'preview'), 'the viewer closed');
    await waitFor(() => el.shadowRoot!.activeElement === toggle, 'focus back on the button that opened it');
  });

  it('previews an image', async () => {
    const chatId = uniqueChatId();
    const file = makeFile(chatId, 'dot.png', { mimeType: 'image/png' });
    const png =
      'base64:iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';
    await server.setup(chatId, {
      files: [file],
      contents: { [file.id]: png },
      answers: {
        [`preview/${file.id}`]: {
          body: {
            id: file.id,
            sha256: file.sha256,
            preview: { kind: 'image', url: `${file.downloadUrl}?disposition=inline` },
          },
        },
      },
    });
    const el = mount({ 'chat-id': chatId, live: 'off' });
    await oneEvent(el, 'load');
    await el.updateComplete;
    part(el, 'preview-button')!.click();
    const img = await waitFor(() => part(el, 'preview')?.querySelector('img'), 'the image');
    assertEqual(img.alt, 'Preview of dot.png');
    // Decoding is the image's own business: its decode() promise says when it is done.
    await img.decode();
    assertEqual(img.naturalWidth, 1, 'the image decoded');
  });

  it('exposes parts and follows --generated-files-* custom properties', async () => {
    const chatId = uniqueChatId();
    await server.setup(chatId, { files: [makeFile(chatId, 'a/b.csv', { versions: 2 })] });
    const el = mount({ 'chat-id': chatId, live: 'off' });
    await oneEvent(el, 'load');
    await el.updateComplete;
    for (const name of [
      'base',
      'header',
      'heading',
      'count',
      'download-all-button',
      'list',
      'item',
      'icon',
      'name',
      'folder',
      'meta',
      'version-badge',
      'versions',
      'preview-button',
      'download-button',
      'status',
    ]) {
      assert(part(el, name), `part ${name}`);
    }
    const button = part(el, 'download-button')!;
    const before = getComputedStyle(button).backgroundColor;
    el.style.setProperty('--generated-files-accent', 'rgb(255, 0, 128)');
    assertEqual(getComputedStyle(button).backgroundColor, 'rgb(255, 0, 128)');
    assert(before !== 'rgb(255, 0, 128)', 'changed');

    // Set on an ancestor, it inherits through the shadow root.
    const wrapper = document.createElement('div');
    wrapper.style.setProperty('--generated-files-radius', '3px');
    document.body.append(wrapper);
    wrapper.append(el);
    assertEqual(getComputedStyle(el).borderTopLeftRadius, '3px');
    wrapper.remove();
  });
});
