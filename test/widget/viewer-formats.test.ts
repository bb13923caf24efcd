// Each format in the viewer, on the sidecar's real files API: previews rendered by its render
// workers, shown by the viewer.
import { mountFiles, open, rendered } from './support/viewer.ts';
import { assert, assertEqual, cleanup, oneEvent, part, waitFor } from './support/widget.ts';

afterEach(cleanup);

describe('<generated-files> viewer formats', function () {
  this.timeout(60_000);

  it('tables: "100 of 3,000 rows" (the header row comes on top of --preview-rows), a sticky header, numbers right-aligned, sorting by a column', async () => {
    const rows = Array.from({ length: 3000 }, (_, i) => `${i + 1},${((i + 1) * 37) % 1000},item ${i + 1}`);
    const { el } = await mountFiles([{ 'big.csv': `n,amount,label\n${rows.join('\n')}\n` }]);
    await open(el, 'big.csv');
    const table = await rendered(el, 'table');
    assertEqual(part(el, 'preview-count')!.textContent!.trim(), '100 of 3,000 rows');
    assertEqual(table.querySelectorAll('tbody tr').length, 100, 'as many rows as it says');
    const headers = [...table.querySelectorAll('th')];
    const amount = () => [...table.querySelectorAll('tbody tr')].map((tr) => Number(tr.children[1]!.textContent));
    assertEqual(getComputedStyle(table.querySelector('td:nth-child(2)')!).textAlign, 'end', 'numbers right-aligned');
    assertEqual(getComputedStyle(table.querySelector('td:nth-child(3)')!).textAlign, 'start', 'text not');

    headers[1]!.querySelector('button')!.click();
    await waitFor(() => headers[1]!.getAttribute('aria-sort') === 'ascending', 'sorted ascending');
    const ascending = amount();
    assertEqual(
      ascending,
      [...ascending].sort((a, b) => a - b),
      'as numbers (37 before 111, which text order would not give)',
    );
    assert(ascending[0]! < 100 && ascending.at(-1)! >= 100, 'the column mixes short and long numbers');
    headers[1]!.querySelector('button')!.click();
    await waitFor(() => headers[1]!.getAttribute('aria-sort') === 'descending', 'sorted descending');
    assertEqual(amount(), [...ascending].reverse());

    // The header stays at the top of the scrolled region.
    const region = part(el, 'preview')!;
    region.scrollTop = region.scrollHeight;
    await waitFor(() => region.scrollTop > 200, 'scrolled');
    const top = Math.round(headers[0]!.getBoundingClientRect().top);
    assertEqual(top, Math.round(region.getBoundingClientRect().top), 'the header is in view');
  });

  it('a table wider than --preview-columns: its preview and its diff say how many of its columns they show', async () => {
    const header = Array.from({ length: 60 }, (_, c) => `c${c + 1}`).join(',');
    const row = (first: string) => [first, ...Array.from({ length: 59 }, (_, c) => `${c + 2}`)].join(',');
    const { el } = await mountFiles([
      {
        'wide.csv': `${header}
${row('a')}
${row('b')}
`,
      },
      {
        'wide.csv': `${header}
${row('a')}
${row('b')}
${row('c')}
`,
      },
    ]);
    await open(el, 'wide.csv');
    const table = await rendered(el, 'table');
    assertEqual(part(el, 'preview-count')!.textContent!.trim(), '3 rows, 50 of 60 columns');
    assertEqual(table.querySelectorAll('thead th').length, 50);
    part(el, 'diff-button')!.click();
    const shown = await waitFor(() => {
      const count = part(el, 'preview')?.querySelector('[part~="preview-count"]');
      return count?.textContent?.includes('Showing') ? count : null;
    }, 'the diff with its column count');
    assertEqual(shown.textContent!.trim(), 'Showing 50 of 60 columns');
    const changed = part(el, 'preview')!.querySelector('table')!;
    assertEqual(changed.querySelectorAll('thead th').length, 51, 'Change and the 50 columns shown');
  });

  it('Markdown: rendered in a sandboxed frame, sanitized (no script, no handler, no outside origin), with Source', async () => {
    const source = [
      '# Title',
      '',
      '| a | b |',
      '| - | -: |',
      '| x | 1 |',
      '',
      '<script>parent.postMessage("md script ran", "*")</script>',
      '<img src="x" onerror="parent.postMessage(\'md handler ran\', \'*\')"> ![remote](https://tracker.example/p.png)',
    ].join('\n');
    const { el } = await mountFiles([{ 'notes.md': source }]);
    let ran = false;
    addEventListener('message', (e) => (ran ||= String(e.data).startsWith('md ')));
    const loaded = new Promise((resolve) =>
      el.shadowRoot!.addEventListener('load', resolve, { capture: true, once: true }),
    );
    await open(el, 'notes.md');
    const frame = await rendered<HTMLIFrameElement>(el, 'iframe');
    assertEqual(frame.getAttribute('sandbox'), '', 'no script, a blank origin');
    const srcdoc = frame.getAttribute('srcdoc')!;
    assert(srcdoc.includes('<h1>Title</h1>') && srcdoc.includes('<td>x</td>'), srcdoc);
    for (const gone of ['<script', 'onerror', 'tracker.example']) assert(!srcdoc.includes(gone), `no ${gone}`);
    await loaded;
    postMessage('after-md', '*');
    await new Promise((resolve) => addEventListener('message', (e) => e.data === 'after-md' && resolve(null)));
    assert(!ran, 'nothing in the Markdown ran');

    const toggle = part(el, 'source-toggle')!;
    assertEqual(toggle.getAttribute('aria-pressed'), 'false');
    toggle.click();
    const pre = await waitFor(() => part(el, 'preview')?.querySelector('pre'), 'the source');
    assertEqual(pre.textContent, source, 'as written, as text');
    assertEqual(part(el, 'source-toggle')!.getAttribute('aria-pressed'), 'true');
  });

  it('JSON: a tree whose nodes fold, the top two levels open, with Source', async () => {
    const { el } = await mountFiles([{ 'data.json': '{"user":{"name":"Ann","tags":["a","b"]},"count":3}' }]);
    await open(el, 'data.json');
    const tree = await rendered(el, '[part~="json-tree"]');
    const details = () => [...tree.querySelectorAll('details')];
    assertEqual(
      details().map((d) => d.open),
      [true, true, false],
      'root and user open, user.tags folded',
    );
    assert(tree.textContent!.includes('"Ann"') && !tree.textContent!.includes('"a"'), 'folded children not rendered');
    details()[2]!.querySelector('summary')!.click();
    await waitFor(() => tree.textContent!.includes('"b"'), 'the tags, unfolded');
    part(el, 'source-toggle')!.click();
    const pre = await waitFor(() => part(el, 'preview')?.querySelector('pre'), 'the source');
    assert(pre.textContent!.startsWith('{\n  "user"'), pre.textContent!);
  });

  it('images: fit to the window, zoom in and out, click for actual size', async () => {
    const canvas = Object.assign(document.createElement('canvas'), { width: 200, height: 100 });
    canvas.getContext('2d')!.fillRect(0, 0, 100, 100);
    const png = canvas.toDataURL('image/png').split(',')[1]!;
    const { el } = await mountFiles([{ 'chart.png': `base64:${png}` }]);
    await open(el, 'chart.png');
    const img = await rendered<HTMLImageElement>(el, 'img');
    await img.decode();
    assertEqual(img.className, 'fit');
    const zoom = part(el, 'zoom')!;
    zoom.querySelector<HTMLButtonElement>('[aria-label="Zoom in"]')!.click();
    await waitFor(() => img.getBoundingClientRect().width === 300, 'zoomed to 150 %');
    assertEqual(zoom.querySelector('output')!.textContent, '150 %');
    // Two quick clicks, before the element updates in between: each steps from the other's zoom.
    zoom.querySelector<HTMLButtonElement>('[aria-label="Zoom out"]')!.click();
    zoom.querySelector<HTMLButtonElement>('[aria-label="Zoom out"]')!.click();
    await waitFor(() => img.getBoundingClientRect().width === 100, 'zoomed out to 50 %');
    img.click();
    await waitFor(() => img.className === 'fit', 'a click fits it again');
    img.click();
    await waitFor(() => img.getBoundingClientRect().width === 200, 'a second click shows its actual size');
  });

  it('docx: its tables drawn with borders, in a sandboxed frame without the hostile parts', async () => {
    const { el } = await mountFiles([{ 'report.docx': 'fixture:docx' }]);
    await open(el, 'report.docx');
    const frame = await rendered<HTMLIFrameElement>(el, 'iframe');
    assertEqual(frame.getAttribute('sandbox'), '');
    const srcdoc = frame.getAttribute('srcdoc')!;
    for (const gone of ['javascript:', 'evil.example', '<script']) assert(!srcdoc.includes(gone), `no ${gone}`);
    // The sandboxed frame is opaque to the page; the same document in a frame of the test's own shows its styles.
    const probe = Object.assign(document.createElement('iframe'), { srcdoc });
    document.body.append(probe);
    await oneEvent(probe, 'load');
    const cell = probe.contentDocument!.querySelector('td')!;
    assertEqual(cell.textContent, 'Region');
    const style = probe.contentWindow!.getComputedStyle(cell);
    assertEqual([style.borderTopStyle, style.borderTopWidth], ['solid', '1px'], 'a bordered cell');
    assertEqual(probe.contentWindow!.getComputedStyle(cell.closest('table')!).borderCollapse, 'collapse');
    probe.remove();
  });
});
