/**
 * `sandbox-chips`: the page's `sandbox:/mnt/data/...` links to this chat's files become chips
 * (icon, name, size, one-click download, the viewer on a click), in Chromium on the real files API.
 */
import { sendKeys } from '@web/test-runner-commands';
import { assertAccessible } from './support/axe.ts';
import { useAnswerPage } from './support/answer-page.ts';
import { assert, assertEqual, mountReal, oneEvent, realApi, waitFor } from './support/widget.ts';

const page = useAnswerPage(`
  <p>Here is <a id="report" href="sandbox:/mnt/data/out/report.csv">the report</a>,
  <a id="missing" href="sandbox:/mnt/data/missing.txt">a missing file</a>
  and <a id="normal" href="#elsewhere">a normal link</a>.</p>`);
const answer = page.answer;

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

  it('downloads in one click, is reached by Tab, and opens the viewer with Enter, Space and a click', async () => {
    const { el } = await mountReal({ 'sandbox-chips': true, live: 'off' }, { 'out/report.csv': 'a,b\n1,2\n' });
    await oneEvent(el, 'load');
    await waitFor(() => chipFor('report'), 'the chip');
    inChip('report', 'chip-download')!.click();
    await waitFor(() => page.downloads.length === 1, 'the download');
    assertEqual(page.downloads[0]!.name, 'report.csv');

    // One Tab from a control before the link reaches the chip (the link itself is hidden). The
    // focus moves after sendKeys resolves, so it is waited for: a second Tab, as this test once
    // pressed, lands on the chip's Download button, and Enter there downloads instead.
    const before = document.createElement('button');
    answer.prepend(before);
    before.focus();
    await sendKeys({ press: 'Tab' });
    const chipRoot = link('report').nextElementSibling!.shadowRoot!;
    await waitFor(() => chipRoot.activeElement === inChip('report', 'chip-open'), 'Tab reaching the chip');
    const viewer = () => el.shadowRoot!.querySelector<HTMLDialogElement>('[part~="viewer"]');
    for (const key of ['Enter', 'Space'] as const) {
      // Esc gave focus back to the list: the chip is focused again for Space.
      if (key === 'Space') inChip('report', 'chip-open')!.focus();
      await waitFor(() => chipRoot.activeElement === inChip('report', 'chip-open'), `the chip focused for ${key}`);
      await sendKeys({ press: key });
      await waitFor(
        () =>
          viewer()?.open && el.shadowRoot!.querySelector('[part~="viewer-title"]')!.textContent!.includes('report.csv'),
        `the viewer, opened with ${key}`,
      );
      await sendKeys({ press: 'Escape' });
      await waitFor(() => !viewer()?.open, 'the viewer closed');
    }
    inChip('report', 'chip-open')!.click();
    await waitFor(() => viewer()?.open, 'the viewer, opened with a click');
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
