// Previews, "what changed" and restore in the element: it shows the sidecar's JSON, never renders files itself.
import type { AxeResults } from 'axe-core';
import {
  assert,
  assertEqual,
  cleanup,
  item,
  makeFile,
  mount,
  oneEvent,
  part,
  parts,
  server,
  uniqueChatId,
  waitFor,
} from './support/widget.ts';

async function assertAccessible(el: Element): Promise<void> {
  const w = window as unknown as { axe?: { run: (context: Element) => Promise<AxeResults> } };
  if (!w.axe) {
    const script = document.createElement('script');
    script.src = '/node_modules/axe-core/axe.min.js';
    document.head.append(script);
    await oneEvent(script, 'load');
  }
  for (const animation of el.shadowRoot!.getAnimations()) animation.finish();
  const results = await w.axe!.run(el);
  const problems = results.violations.map(
    (v) => `${v.id}: ${v.help} ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`,
  );
  assert(problems.length === 0, `axe found:\n${problems.join('\n')}`);
}

const sheet = (name: string, rows: string[][]) => ({
  name,
  rows,
  rowCount: rows.length,
  columnCount: rows[0]!.length,
  truncated: false,
});

async function mountWith(fixture: Parameters<typeof server.setup>[1]) {
  const chatId = uniqueChatId('preview');
  const inChat = <T extends { downloadUrl: string }>(v: T): T => ({
    ...v,
    downloadUrl: v.downloadUrl.replace(/chats\/[^/]+/, `chats/${chatId}`),
  });
  const files = fixture!.files!.map((f) => ({ ...inChat(f), versions: f.versions.map(inChat) }));
  await server.setup(chatId, { ...fixture, files });
  const el = mount({ 'chat-id': chatId, live: 'off' });
  await oneEvent(el, 'load');
  await el.updateComplete;
  return { el, chatId };
}

afterEach(cleanup);

describe('<generated-files> previews', () => {
  it('shows a workbook as a table with sheet tabs, and passes axe', async () => {
    const file = makeFile('x', 'report.xlsx');
    const preview = {
      kind: 'table',
      sheets: [
        sheet('Data', [
          ['id', 'date'],
          ['1', '2024-01-01'],
        ]),
        sheet('Summary', [
          ['region', 'total'],
          ['EU', '=HYPERLINK("http://evil.example","x")'],
        ]),
      ],
    };
    const { el } = await mountWith({
      files: [file],
      answers: { [`preview/${file.id}`]: { body: { id: file.id, sha256: file.sha256, preview } } },
    });
    part(el, 'preview-button')!.click();
    const tabs = await waitFor(
      () =>
        parts(el, 'preview')[0]?.querySelectorAll('[role=tab]').length === 2
          ? parts(el, 'preview')[0]!.querySelectorAll<HTMLButtonElement>('[role=tab]')
          : null,
      'sheet tabs',
    );
    assertEqual(part(el, 'preview')!.querySelector('th')!.textContent!.trim(), 'id');
    assertEqual(tabs[0]!.getAttribute('aria-selected'), 'true');
    tabs[1]!.focus();
    tabs[1]!.click();
    await el.updateComplete;
    const cells = [...part(el, 'preview')!.querySelectorAll('td')].map((c) => c.textContent);
    assertEqual(cells, ['EU', '=HYPERLINK("http://evil.example","x")']);
    assert(!part(el, 'preview')!.querySelector('a'), 'formula-like text is never a link');
    await assertAccessible(el);
  });

  it('offers a preview for every format the sidecar previews (xls, ods, code), not for other binaries', async () => {
    const previewed = ['report.xlsx', 'legacy.xls', 'calc.ods', 'main.go', 'lib.rs', 'util.c', 'App.java'];
    const { el } = await mountWith({
      files: [...previewed, 'data.parquet'].map((name) => makeFile('x', name)),
    });
    for (const name of previewed) {
      assert(part(item(el, name), 'preview-button'), `${name} has a preview button`);
    }
    assert(!part(item(el, 'data.parquet'), 'preview-button'), 'data.parquet downloads only');
  });

  it('shows a docx in a sandboxed frame (no script, blank origin), even if a handler got through', async () => {
    const file = makeFile('x', 'report.docx');
    const html = '<h1>Report</h1><img src="x" onerror="parent.postMessage(\'handler ran\', \'*\')">';
    const { el } = await mountWith({
      files: [file],
      answers: {
        [`preview/${file.id}`]: { body: { id: file.id, sha256: file.sha256, preview: { kind: 'document', html } } },
      },
    });
    let ran = false;
    addEventListener('message', (e) => (ran ||= e.data === 'handler ran'));
    // load does not bubble, but a capturing listener on the shadow root sees it, however soon it comes.
    const loaded = new Promise((resolve) =>
      el.shadowRoot!.addEventListener('load', resolve, { capture: true, once: true }),
    );
    part(el, 'preview-button')!.click();
    const frame = await waitFor(() => part(el, 'preview')?.querySelector('iframe'), 'the document frame');
    assertEqual(frame.getAttribute('sandbox'), '');
    assert(frame.title.includes('report.docx'), 'labelled');
    await loaded;
    assertEqual(frame.contentDocument, null, 'a blank (opaque) origin: the page cannot reach into it, nor it out');
    // A message posted by the frame would be queued before this one.
    postMessage('after', '*');
    await new Promise((resolve) => addEventListener('message', (e) => e.data === 'after' && resolve(null)));
    assert(!ran, 'the handler did not run');
  });

  it('loads HTML in a sandboxed frame from the sidecar: its script does not run', async () => {
    const file = makeFile('x', 'page.html');
    const page = "<h1>Chart</h1><script>parent.postMessage('script ran', '*')</script>";
    const { el, chatId } = await mountWith({
      files: [file],
      contents: { [file.id]: page },
    });
    // The frame URL names the chat, as the sidecar's does.
    await server.patch(chatId, {
      answers: {
        [`preview/${file.id}`]: {
          body: {
            id: file.id,
            sha256: file.sha256,
            preview: { kind: 'frame', url: `/sidecar/v1/chats/${chatId}/files/${file.id}/preview/frame` },
          },
        },
      },
    });
    let ran = false;
    addEventListener('message', (e) => (ran ||= e.data === 'script ran'));
    const loaded = new Promise((resolve) =>
      el.shadowRoot!.addEventListener('load', resolve, { capture: true, once: true }),
    );
    part(el, 'preview-button')!.click();
    const frame = await waitFor(() => part(el, 'preview')?.querySelector('iframe'), 'the frame');
    assertEqual(frame.getAttribute('sandbox'), '');
    assert(frame.src.endsWith(`/files/${file.id}/preview/frame`), frame.src);
    await loaded;
    postMessage('after-html', '*');
    await new Promise((resolve) => addEventListener('message', (e) => e.data === 'after-html' && resolve(null)));
    assert(!ran, 'the script did not run');
  });

  it('says why when the sidecar refused a preview', async () => {
    const file = makeFile('x', 'bomb.xlsx');
    const error = {
      error: {
        code: 'ERR_PREVIEW_UNZIPPED_TOO_LARGE',
        message: 'The file unpacks to more than 209715200 bytes: not previewed.',
      },
    };
    const { el } = await mountWith({
      files: [file],
      answers: { [`preview/${file.id}`]: { status: 413, body: error } },
    });
    part(el, 'preview-button')!.click();
    const alert = await waitFor(() => part(el, 'preview')?.querySelector('[role=alert]'), 'the refusal');
    assert(alert.textContent!.includes('unpacks to more than'), alert.textContent!);
  });

  it('shows what changed against the previous version, restores with confirmation, and passes axe', async () => {
    const file = makeFile('x', 'table.csv', { versions: 2 });
    const [latest, previous] = file.versions;
    const diff = {
      from: { id: previous!.id, version: 1, size: 10, sha256: 'a'.repeat(64) },
      to: { id: latest!.id, version: 2, size: 12, sha256: 'b'.repeat(64) },
      diff: {
        kind: 'table',
        sheets: [
          {
            name: 'Sheet1',
            status: 'changed',
            keyColumn: 'id',
            counts: { added: 1, removed: 0, changed: 1 },
            header: ['id', 'v'],
            rows: [
              { change: 'changed', key: '3', before: ['3', 'c'], after: ['3', 'C'] },
              { change: 'added', key: '4', after: ['4', 'd'] },
            ],
            truncated: false,
          },
        ],
      },
    };
    const restored = { ...file, id: 'restored', version: 3, source: 'restore' };
    const { el, chatId } = await mountWith({
      files: [file],
      answers: { [`diff/${latest!.id}`]: { body: diff }, [`restore/${previous!.id}`]: { status: 201, body: restored } },
    });
    part(el, 'preview-button')!.click();
    const whatChanged = await waitFor(() => part(el, 'diff-button'), 'the viewer with its versions');
    assertEqual(whatChanged.getAttribute('aria-label'), 'What changed in version 2');
    whatChanged.click();
    const table = await waitFor(() => el.shadowRoot!.querySelector('[aria-label^="Changes in"] table'), 'the diff');
    assertEqual(whatChanged.getAttribute('aria-pressed'), 'true');
    assert(table.textContent!.includes('c → C'), table.textContent!);
    assert(el.shadowRoot!.querySelector('[aria-label^="Changes in"]')!.textContent!.includes('1 added'), 'counts');
    await assertAccessible(el);

    part(el, 'restore-button')!.click();
    await el.updateComplete;
    const confirm = part(el, 'restore-confirm')!;
    assert(!(await server.log(chatId)).some((r) => r.path.includes('/restore')), 'nothing restored before confirming');
    await assertAccessible(el);
    confirm.querySelector('button')!.click();
    const status = await waitFor(() => part(el, 'restore-status'), 'the restore status');
    assertEqual(status.querySelector('span')!.textContent, 'Version 1 restored as version 3.');
    assert(part(status, 'undo-button'), 'with Undo');
    assert(
      (await server.log(chatId)).some((r) => r.path === `/files/${previous!.id}/restore`),
      'POSTed restore',
    );
  });
});
