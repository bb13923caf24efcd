/**
 * The list at scale, uploads as chat apps have them, and narrow layouts, in Chromium on the
 * sidecar's real files API: files grouped by the run that made them, the filter, the row menu
 * and the upload chips driven by the keyboard alone; axe in light and dark mode with uploads
 * open; and the layout at 1280, 390 and 380 px (a sidebar) checked by measuring, with a
 * screenshot of each saved for a person to look at.
 */
import { emulateMedia, executeServerCommand, sendKeys, sendMouse, setViewport } from '@web/test-runner-commands';
import type { GeneratedFilesElement } from '../../widget/generated-files.ts';
import { assertAccessible } from './support/axe.ts';
import { brokenNameProblems, extensionInView, overflowProblems, touchTargetProblems } from './support/layout.ts';
import {
  AssertionError,
  assert,
  assertEqual,
  cleanup,
  mount,
  names,
  oneEvent,
  part,
  parts,
  realApi,
  uniqueChatId,
  uploadsReady,
  waitFor,
} from './support/widget.ts';

const LONG = 'quarterly-revenue-by-region-and-product-line-2026-final-reviewed.xlsx';
const SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40"><rect width="40" height="40" fill="#8250df"/></svg>';

/**
 * A chat whose code ran four times: one file with 12 versions (each run rewrote it; its last
 * run is the oldest listed), then three runs of new files, the newest with a long name, an
 * image and a deep folder.
 */
async function chatWithRuns(): Promise<string> {
  const chatId = uniqueChatId('runs');
  for (let v = 1; v <= 12; v++) await realApi.seed(chatId, { 'history.csv': `v\n${v}\n` }, `history-${v}`);
  await realApi.seed(chatId, { 'setup.py': 'print(1)', 'old-chart.svg': SVG }, 'run-a');
  await realApi.seed(chatId, { 'cleaned.csv': 'a\n1\n', 'notes.md': '# notes' }, 'run-b');
  await realApi.seed(
    chatId,
    {
      [LONG]: 'x',
      'chart.svg': SVG,
      'summary.txt': 'ok',
      'out/regional/with-a-rather-long-folder-name/monthly/report.pdf': '%PDF-1.4',
    },
    'run-c',
  );
  return chatId;
}

/** Mounts the element on the real API, its network calls recorded (before the first one leaves). */
async function mountOn(chatId: string, attributes: Record<string, string | boolean> = {}) {
  const [origin, token] = await Promise.all([realApi.origin(), realApi.token(chatId)]);
  const requests: string[] = [];
  const el = mount({ 'chat-id': chatId, src: origin, token, live: 'off', ...attributes }, (e) => {
    e.fetch = (request) => {
      requests.push(request.url);
      return globalThis.fetch(request);
    };
  });
  await oneEvent(el, 'load');
  await el.updateComplete;
  return { el, requests };
}

const active = (el: GeneratedFilesElement) => el.shadowRoot!.activeElement;
const runToggles = (el: GeneratedFilesElement) => parts(el, 'run-toggle');
const shownNames = (el: GeneratedFilesElement) => names(el).filter((_, i) => parts(el, 'name')[i]!.checkVisibility());

/** Presses Tab until `target` has the focus; fails if it never gets there. Keyboard only. */
async function tabTo(el: GeneratedFilesElement, target: () => Element | null | undefined, what: string): Promise<void> {
  for (let i = 0; i < 40; i++) {
    await el.updateComplete;
    const wanted = target();
    if (wanted && active(el) === wanted) return;
    await sendKeys({ press: 'Tab' });
  }
  throw new AssertionError(`Tab never reached ${what}`);
}

const rowOf = (el: GeneratedFilesElement, name: string) =>
  parts(el, 'item').find((i) => part(i, 'name')?.textContent === name);

afterEach(async () => {
  cleanup();
  await setViewport({ width: 800, height: 600 });
  await emulateMedia({ colorScheme: 'light' });
});

describe('<generated-files> at scale, on the real files API', () => {
  it('groups files by the run that made them: the newest run open, older ones folded', async () => {
    const { el } = await mountOn(await chatWithRuns());
    assertEqual(
      runToggles(el).map((t) => t.querySelector('[part~="run-label"]')!.textContent),
      ['Run 4', 'Run 3', 'Run 2', 'Run 1'],
    );
    assertEqual(
      runToggles(el).map((t) => t.getAttribute('aria-expanded')),
      ['true', 'false', 'false', 'false'],
    );
    assert(part(runToggles(el)[0]!, 'run-meta')!.textContent!.startsWith('4 files · '), 'the run says how many files');
    assertEqual(names(el).sort(), [LONG, 'chart.svg', 'report.pdf', 'summary.txt'].sort(), 'only the newest run shows');
    runToggles(el)[3]!.click();
    await el.updateComplete;
    assert(names(el).includes('history.csv'), 'an older run opens');
    runToggles(el)[0]!.click();
    await el.updateComplete;
    assert(!names(el).includes('chart.svg'), 'and the newest folds');
  });

  it('offers a filter once there are more than five files, across folded runs', async () => {
    const { el } = await mountOn(await chatWithRuns());
    const filter = part(el, 'filter-input') as HTMLInputElement;
    assert(filter, 'a filter box with 9 files');
    filter.value = 'CSV';
    filter.dispatchEvent(new Event('input'));
    await el.updateComplete;
    assertEqual(names(el).sort(), ['cleaned.csv', 'history.csv'], 'matches in folded runs are shown');
    filter.value = 'nothing-like-this';
    filter.dispatchEvent(new Event('input'));
    await el.updateComplete;
    assert(part(el, 'no-match')!.textContent!.includes('nothing-like-this'), 'says nothing matches');

    const few = uniqueChatId('few');
    await realApi.seed(few, { 'a.csv': 'a', 'b.csv': 'b' });
    const small = (await mountOn(few)).el;
    assert(!part(small, 'filter-input'), 'no filter for two files');
    assert(!part(small, 'run-toggle'), 'no run heading for one run');
  });

  it('works from the keyboard alone: filter, runs, open a file, Download, the row menu', async () => {
    const before = document.createElement('button');
    before.textContent = 'before';
    document.body.prepend(before);
    try {
      const { el } = await mountOn(await chatWithRuns());
      before.focus();
      await tabTo(el, () => part(el, 'filter-input'), 'the filter');
      await sendKeys({ type: 'notes' });
      await waitFor(() => names(el).join() === 'notes.md', 'the filter applied');
      await sendKeys({ press: 'Escape' });
      await waitFor(() => names(el).length === 4, 'Escape clears it');

      // An older run, opened with Enter.
      await tabTo(el, () => runToggles(el)[1], 'the second run');
      await sendKeys({ press: 'Enter' });
      await waitFor(() => names(el).includes('notes.md'), 'the run opened');
      assertEqual(runToggles(el)[1]!.getAttribute('aria-expanded'), 'true');

      // The row's own button opens the file in the viewer; Esc brings the focus back to it.
      const notes = () => part(rowOf(el, 'notes.md')!, 'name');
      await tabTo(el, notes, "notes.md's row");
      await sendKeys({ press: 'Enter' });
      await waitFor(() => part(el, 'viewer-title')?.textContent?.includes('notes.md'), 'the file opened in the viewer');
      await sendKeys({ press: 'Escape' });
      await waitFor(() => !part(el, 'viewer-title') && active(el) === notes(), 'closed, focus back on the row');

      // One primary action, then the menu: it opens on Enter with the focus inside, Escape closes it.
      await sendKeys({ press: 'Tab' });
      assertEqual(active(el), part(rowOf(el, 'notes.md')!, 'download-button'), 'Download comes next');
      await sendKeys({ press: 'Tab' });
      const menuButton = part(rowOf(el, 'notes.md')!, 'menu-button')!;
      assertEqual(active(el), menuButton, 'then the menu');
      await sendKeys({ press: 'Enter' });
      const menu = part(rowOf(el, 'notes.md')!, 'menu')!;
      await waitFor(() => menu.checkVisibility() && menu.contains(active(el)), 'the menu open, focus in it');
      assertEqual(menuButton.getAttribute('aria-expanded'), 'true');
      await sendKeys({ press: 'Escape' });
      await waitFor(() => !menu.checkVisibility() && active(el) === menuButton, 'closed, focus back on its button');

      // A file with versions: the menu shows them, without leaving the row.
      await tabTo(el, () => runToggles(el)[3], 'the oldest run');
      await sendKeys({ press: 'Enter' });
      const history = () => rowOf(el, 'history.csv');
      await waitFor(history, 'history.csv shown');
      await tabTo(el, () => part(history()!, 'menu-button'), "history.csv's menu");
      await sendKeys({ press: 'Enter' });
      await waitFor(() => part(history()!, 'menu')!.contains(active(el)), 'its menu');
      await tabTo(el, () => part(history()!, 'versions-button'), 'All 12 versions');
      await sendKeys({ press: 'Enter' });
      await waitFor(() => (part(history()!, 'versions') as HTMLDetailsElement).open, 'versions shown');
      assertEqual(parts(history()!, 'version').length, 12);
      assertEqual(active(el), part(history()!, 'menu-button'), 'focus back on the menu button');
    } finally {
      before.remove();
    }
  });

  it('opens the file from anywhere on its row', async () => {
    const { el } = await mountOn(await chatWithRuns());
    const row = rowOf(el, 'summary.txt')!;
    const meta = part(row, 'meta')!.getBoundingClientRect();
    await sendMouse({ type: 'click', position: [Math.round(meta.left + 4), Math.round(meta.top + meta.height / 2)] });
    await waitFor(
      () => part(el, 'viewer-title')?.textContent?.includes('summary.txt'),
      'a click on the size opened it in the viewer',
    );
  });

  it('shows image thumbnails, fetched only once their row is shown', async () => {
    const { el, requests } = await mountOn(await chatWithRuns());
    const thumbnail = await waitFor(
      () => part(rowOf(el, 'chart.svg')!, 'thumbnail') as HTMLImageElement | null,
      'the thumbnail of chart.svg',
    );
    await thumbnail.decode();
    assertEqual(thumbnail.naturalWidth, 40, 'drawn from the file itself');
    const old = el.files.find((f) => f.name === 'old-chart.svg')!;
    assert(!requests.some((url) => url.includes(old.id)), 'the folded run’s image is not fetched');
    runToggles(el)[2]!.click();
    await waitFor(() => part(rowOf(el, 'old-chart.svg')!, 'thumbnail'), 'fetched once its run opens');
    assertEqual(requests.filter((url) => url.includes(old.id)).length, 1);
  });

  it('says sizes as the file card does', async () => {
    const chatId = uniqueChatId('sizes');
    await realApi.seed(chatId, { 'size.csv': 'x'.repeat(12_345) });
    const { el } = await mountOn(chatId);
    assertEqual(part(el, 'meta')!.textContent!.split(' · ')[0], '12.3 kB');
  });
});

describe('<generated-files> upload chips', () => {
  it('a paperclip, chips with progress, cancelled from the keyboard alone', async () => {
    const chatId = await chatWithRuns();
    const { el } = await mountOn(chatId, { uploads: true });
    await uploadsReady(el);
    assertEqual(part(el, 'upload-button')!.textContent!.trim(), 'Attach files');
    assert(part(el, 'upload-button')!.querySelector('svg'), 'with a paperclip');
    assert(!part(el, 'upload-folder')!.checkVisibility(), 'the folder is behind "Advanced"');
    await realApi.hold(chatId);
    await el.upload([new File(['held'], 'a-long-upload-name-that-keeps-its-extension.csv')]);
    await realApi.held(chatId);
    await el.updateComplete;
    const chip = part(el, 'upload')!;
    assert(part(chip, 'upload-progress'), 'a progress bar');
    assert(chip.textContent!.includes('of 4 B'), chip.textContent!);
    const before = document.createElement('button');
    document.body.prepend(before);
    try {
      before.focus();
      await tabTo(el, () => part(chip, 'upload-cancel-button'), "the chip's cancel button");
      await sendKeys({ press: 'Enter' });
      await waitFor(() => part(el, 'upload')?.dataset.state === 'error', 'canceled');
    } finally {
      before.remove();
    }
    await realApi.gone(chatId);
    await realApi.release(chatId);
  });

  it('drops anywhere on the element, the list included', async () => {
    const { el } = await mountOn(await chatWithRuns(), { uploads: true });
    await uploadsReady(el);
    const drop = new DataTransfer();
    drop.items.add(new File(['d'], 'dropped.csv'));
    const done = new Promise((resolve) =>
      el.addEventListener('generated-files-upload', (e) => (e as CustomEvent).detail.phase === 'done' && resolve(null)),
    );
    part(rowOf(el, 'summary.txt')!, 'meta')!.dispatchEvent(
      new DragEvent('drop', { dataTransfer: drop, bubbles: true, composed: true, cancelable: true }),
    );
    await done;
    await waitFor(() => names(el).includes('dropped.csv'), 'listed');
  });

  it('has no axe violations in light and dark mode with uploads open, a chip, a menu and versions', async function () {
    // Two full axe runs over a long list: slow on a loaded machine (the limit only bounds a failure).
    (this as { timeout(ms: number): void }).timeout(30_000);
    const chatId = await chatWithRuns();
    const { el } = await mountOn(chatId, { uploads: true });
    await uploadsReady(el);
    (part(el, 'upload-advanced') as HTMLDetailsElement).open = true;
    await realApi.hold(chatId);
    await el.upload([new File(['x'], 'held.csv')]);
    await realApi.held(chatId);
    await el.upload([new File(['y'], 'summary.txt')]);
    runToggles(el)[3]!.click();
    await el.updateComplete;
    part(rowOf(el, 'history.csv')!, 'menu-button')!.click();
    part(rowOf(el, 'history.csv')!, 'versions-button')!.click();
    part(rowOf(el, 'chart.svg')!, 'menu-button')!.click();
    await el.updateComplete;
    assertEqual(
      parts(el, 'upload').map((u) => u.dataset.state),
      ['uploading', 'conflict'],
    );
    await assertAccessible(el);
    const light = getComputedStyle(el).backgroundColor;
    await emulateMedia({ colorScheme: 'dark' });
    await waitFor(() => getComputedStyle(el).backgroundColor !== light, 'dark background');
    await assertAccessible(el);
    await realApi.release(chatId);
  });
});

describe('the layout check of names', () => {
  it('finds an extension cut off at the end of a name, and none in a name cut in the middle', () => {
    const host = document.createElement('div');
    host.style.width = '160px';
    document.body.append(host);
    try {
      const root = host.attachShadow({ mode: 'open' });
      const clip = 'overflow:hidden;text-overflow:ellipsis;white-space:nowrap';
      // Cut at its end, as `text-overflow: ellipsis` on the whole name would: ".xlsx" is laid out past the clip.
      root.innerHTML = `<button part="name" style="display:block;width:150px;${clip}"><bdi class="mid"><span class="head">${LONG}</span></bdi></button>
        <button part="name" style="display:flex;width:150px"><bdi class="mid" style="display:flex;min-width:0;white-space:nowrap"
          ><span class="head" style="${clip}">${LONG.slice(0, -11)}</span><span class="tail" style="flex:none">${LONG.slice(-11)}</span></bdi></button>`;
      const [endCut, middleCut] = parts(host, 'name');
      assertEqual(endCut!.textContent, LONG, 'the text still holds the extension');
      assert(!extensionInView(endCut!), 'an end-cut name fails the check');
      assert(extensionInView(middleCut!), 'a middle-cut name passes it');
      assertEqual(brokenNameProblems(host as unknown as HTMLElement), [
        `button[part=name] "${LONG.slice(0, 40)}": its extension is cut off`,
      ]);
    } finally {
      host.remove();
    }
  });
});

describe('<generated-files> on a phone, in a sidebar and on a desktop', () => {
  const layouts = [
    { name: 'desktop-1280', width: 1280, height: 900, sidebar: 0, touch: false },
    { name: 'phone-390', width: 390, height: 844, sidebar: 0, touch: true },
    { name: 'sidebar-380', width: 1280, height: 900, sidebar: 380, touch: true },
  ];
  for (const layout of layouts) {
    it(`at ${layout.name}: nothing sticks out, no name broken, the extension shown, touch targets ${layout.touch ? '≥ 44 px' : 'unchecked'}, versions in their row`, async () => {
      await setViewport({ width: layout.width, height: layout.height });
      const chatId = await chatWithRuns();
      let container: HTMLElement | null = null;
      if (layout.sidebar) {
        container = document.createElement('aside');
        container.style.cssText = `width:${layout.sidebar}px;margin-left:auto`;
        document.body.append(container);
      }
      try {
        const { el } = await mountOn(chatId, { uploads: true });
        if (container) container.append(el);
        await el.updateComplete;
        await uploadsReady(el);
        await realApi.hold(chatId);
        await el.upload([new File(['held'], 'an-upload-with-a-name-far-too-long-for-a-phone-screen.csv')]);
        await realApi.held(chatId);
        runToggles(el)[3]!.click();
        await el.updateComplete;
        const history = rowOf(el, 'history.csv')!;
        (part(history, 'versions') as HTMLDetailsElement).open = true;
        await el.updateComplete;
        await waitFor(() => shownNames(el).includes(LONG), 'the list drawn');

        const problems = [
          ...overflowProblems(el),
          ...brokenNameProblems(el),
          ...(layout.touch ? touchTargetProblems(el) : []),
        ];
        const versions = part(history, 'version-list')!.getBoundingClientRect();
        if (versions.height > innerHeight / 2)
          problems.push(`12 versions take ${versions.height.toFixed(0)} px of a ${innerHeight} px screen`);
        const longName = part(rowOf(el, LONG)!, 'name')!;
        const head = longName.querySelector('.head')!;
        if (layout.width < 500 || layout.sidebar)
          assert(head.scrollWidth > head.clientWidth, 'the long name is cut (in the middle)');
        assert(extensionInView(longName), `at ${layout.name}: the long name's .xlsx in view`);
        await executeServerCommand('screenshot', { name: `list-${layout.name}` });
        assert(problems.length === 0, `at ${layout.name}:\n${problems.join('\n')}`);
        await realApi.release(chatId);
      } finally {
        container?.remove();
      }
    });
  }
});
