import type { GeneratedFilesDownloadEvent } from '../../widget/generated-files.ts';
import { useAnswerPage } from './support/answer-page.ts';
import { assert, assertEqual, makeFile, mount, oneEvent, server, uniqueChatId, waitFor } from './support/widget.ts';

const page = useAnswerPage(`
  <p>Here is <a id="by-path" href="sandbox:/mnt/data/out/report.xlsx">the report</a>,
  <a id="by-name" href="sandbox:/mnt/data/chart%20final.png">the chart</a>,
  <a id="unknown" href="sandbox:/mnt/data/missing.txt">a missing file</a>
  and <a id="normal" href="#not-sandbox">a normal link</a>.</p>`);
const answer = page.answer;

/**
 * Clicks the by-path link until the click is handled: the sandbox-links code is a chunk of its
 * own, imported when the attribute is set, and clicks are the browser's until it is in. The
 * probe is tried again after each update of the element (it updates once the code is in); once
 * one click was handled, it clicks no more. A handled click fires the download event, which
 * also runs the probe, inside the click: that nested run does not click again.
 */
async function clickOnceListening(): Promise<void> {
  let handled = false;
  let clicking = false;
  await waitFor(() => {
    if (handled || clicking) return handled;
    clicking = true;
    handled = click('by-path');
    clicking = false;
    return handled;
  }, 'the sandbox-links code listening');
}

/** Waits until the page's sandbox links are handled; the click that shows it downloads `out/report.xlsx`. */
async function listening(): Promise<void> {
  await clickOnceListening();
  await waitFor(() => page.downloads.length === 1, 'its download');
  page.downloads.length = 0;
}

/** Clicks a link and reports whether navigation was prevented. */
function click(id: string): boolean {
  const link = answer.querySelector<HTMLAnchorElement>(`#${id}`)!;
  const event = new MouseEvent('click', { bubbles: true, cancelable: true, composed: true, button: 0 });
  // Never navigate the test page, whoever handles it.
  let prevented = false;
  const last = (e: Event) => {
    prevented = e.defaultPrevented;
    e.preventDefault();
  };
  window.addEventListener('click', last, { once: true });
  link.dispatchEvent(event);
  return prevented;
}

async function setup(attributes: Record<string, string | boolean>) {
  const chatId = uniqueChatId('sandbox');
  const report = makeFile(chatId, 'out/report.xlsx');
  const chart = makeFile(chatId, 'charts/chart final.png', { mimeType: 'image/png' });
  await server.setup(chatId, {
    files: [report, makeFile(chatId, 'report.xlsx', { id: 'top-level' }), chart],
    contents: { [report.id]: 'the nested report', [chart.id]: 'png bytes' },
  });
  const el = mount({ 'chat-id': chatId, live: 'off', ...attributes });
  await oneEvent(el, 'load');
  return { el, chatId };
}

describe('<generated-files sandbox-links>', () => {
  it('downloads the file a sandbox: link names and prevents navigation', async () => {
    const { el } = await setup({ 'sandbox-links': true });
    const event = oneEvent<GeneratedFilesDownloadEvent>(el, 'generated-files-download');
    await clickOnceListening();
    assertEqual((await event).detail.file?.path, 'out/report.xlsx', 'matched by path first');
    await waitFor(() => page.downloads.length === 1, 'download');
    assertEqual(page.downloads[0]!.name, 'report.xlsx');
    assertEqual(await (await fetch(page.downloads[0]!.href)).text(), 'the nested report');

    assert(click('by-name'), 'navigation prevented');
    await waitFor(() => page.downloads.length === 2, 'second download');
    assertEqual(page.downloads[1]!.name, 'chart final.png', 'matched by name');
  });

  it('leaves unknown sandbox files and other links alone', async () => {
    const { el } = await setup({ 'sandbox-links': true });
    await listening();
    // A handled link starts its download inside the click: the download event fires before
    // click() returns, so none by then means none at all.
    let downloads = 0;
    el.addEventListener('generated-files-download', () => downloads++);
    assert(!click('unknown'), 'a file of no chat here: untouched');
    assert(!click('normal'), 'a normal link: untouched');
    assertEqual(downloads, 0);
    assertEqual(page.downloads.length, 0);
  });

  it('does nothing without the attribute, or once removed from the page', async () => {
    const { el } = await setup({});
    assert(!click('by-path'), 'off by default');
    el.sandboxLinks = true;
    await listening();
    el.remove();
    assert(!click('by-path'), 'listener removed on disconnect');
    el.sandboxLinks = false;
  });
});
