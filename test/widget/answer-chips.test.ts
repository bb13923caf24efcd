/**
 * `sandbox-chips`: the page's `sandbox:/mnt/data/...` links to this chat's files become chips
 * (icon, name, size, one-click download, the viewer on a click), in Chromium on the real files API.
 */
import { sendKeys } from '@web/test-runner-commands';
import { assertAccessible } from './support/axe.ts';
import {
  assert,
  assertEqual,
  captureDownloads,
  cleanup,
  mountReal,
  oneEvent,
  realApi,
  waitFor,
} from './support/widget.ts';

let capture: ReturnType<typeof captureDownloads>;
const answer = document.createElement('div');

beforeEach(() => {
  capture = captureDownloads();
  // What a chat UI renders from a model's markdown.
  answer.innerHTML = `
    <p>Here is <a id="report" href="sandbox:/mnt/data/out/report.csv">the report</a>,
    <a id="missing" href="sandbox:/mnt/data/missing.txt">a missing file</a>
    and <a id="normal" href="#elsewhere">a normal link</a>.</p>`;
  document.body.append(answer);
});

afterEach(() => {
  capture.restore();
  answer.remove();
  cleanup();
});

const link = (id: string) => document.getElementById(id) as HTMLAnchorElement;
const chipFor = (id: string) => link(id).nextElementSibling?.shadowRoot?.querySelector<HTMLElement>('[part~="chip"]');
const inChip = (id: string, part: string) => chipFor(id)?.querySelector<HTMLElement>(`[part~="${part}"]`);

describe('<generated-files sandbox-chips> on the real files API', () => {
  it("shows a link to this chat's file as a chip: icon, name, size; the others stay links", async () => {
    const { el } = await mountReal({ 'sandbox-chips': true, live: 'off' }, { 'out/report.csv': 'a,b\n1,2\n' });
    await oneEvent(el, 'load');
    const chip = await waitFor(() => chipFor('report'), 'the chip');
    assert(link('report').hidden, 'the link itself hidden, kept in place');
    assertEqual(chip.querySelector('svg.icon text')?.textContent, 'CSV');
    assertEqual(inChip('report', 'chip-open')!.title, 'report.csv');
    assertEqual(inChip('report', 'chip-size')!.textContent, '8 B');
    assert(!link('missing').hidden && !chipFor('missing'), 'a file this chat does not have: still a link');
    assert(!chipFor('normal'), 'a normal link: untouched');
    await assertAccessible(chip.getRootNode() instanceof ShadowRoot ? link('report').nextElementSibling! : chip);
  });

  it('downloads in one click, is reached by Tab, and opens the viewer on a click of the chip', async () => {
    const { el } = await mountReal({ 'sandbox-chips': true, live: 'off' }, { 'out/report.csv': 'a,b\n1,2\n' });
    await oneEvent(el, 'load');
    await waitFor(() => chipFor('report'), 'the chip');
    inChip('report', 'chip-download')!.click();
    await waitFor(() => capture.downloads.length === 1, 'the download');
    assertEqual(capture.downloads[0]!.name, 'report.csv');

    const before = document.createElement('button');
    answer.prepend(before);
    before.focus();
    await sendKeys({ press: 'Tab' });
    await sendKeys({ press: 'Tab' });
    assertEqual(
      link('report').nextElementSibling!.shadowRoot!.activeElement,
      inChip('report', 'chip-open'),
      'Tab reaches the chip',
    );
    inChip('report', 'chip-open')!.click();
    await waitFor(() => {
      const title = el.shadowRoot!.querySelector('[part~="viewer-title"]');
      if (!title)
        throw new Error(
          `no viewer: ${el.shadowRoot!.querySelector('[part~="preview"]')?.textContent ?? 'nothing'} ${document.activeElement?.outerHTML.slice(0, 80)}`,
        );
      return title.textContent!.includes('report.csv');
    }, 'the viewer');
  });

  it('chips a link that arrives later (an answer streaming in) and a file that arrives later; removing the attribute gives the links back', async () => {
    const { el, chatId } = await mountReal({ 'sandbox-chips': true }, { 'out/report.csv': 'a,b\n1,2\n' });
    await oneEvent(el, 'load');
    await waitFor(() => chipFor('report'), 'the first chip');
    const later = document.createElement('a');
    later.id = 'later';
    later.href = 'sandbox:/mnt/data/out/report.csv';
    later.textContent = 'again';
    answer.append(later);
    await waitFor(() => chipFor('later'), 'a link added later');

    await realApi.seed(chatId, { 'missing.txt': 'now here' });
    await el.reload();
    await waitFor(() => chipFor('missing'), 'a file that arrived after its link');

    el.removeAttribute('sandbox-chips');
    await waitFor(() => !chipFor('report') && !link('report').hidden, 'the link is back');
    assert(!answer.querySelector('[data-generated-files-chip-for]'), 'no chip left');
  });
});
