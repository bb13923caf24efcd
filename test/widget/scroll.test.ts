import type { GeneratedFilesChangeEvent, GeneratedFilesElement } from '../../widget/generated-files.ts';
import {
  assert,
  assertEqual,
  cleanup,
  item,
  json,
  makeFile,
  mount,
  names,
  oneEvent,
  part,
  parts,
  route,
  server,
  uniqueChatId,
  waitFor,
} from './support/widget.ts';

afterEach(() => {
  cleanup();
  scrollTo(0, 0);
});

/** Scrolls the page by `px` and resolves once the element has updated for it. */
async function scrollPage(el: GeneratedFilesElement, px: number): Promise<void> {
  const scrolled = oneEvent(window, 'scroll');
  scrollBy({ top: px, behavior: 'instant' });
  await scrolled;
  await el.updateComplete;
}

const animating = (el: GeneratedFilesElement) => el.shadowRoot!.getAnimations();

/** Resolves once `target` has had its first intersection check. */
function intersectionChecked(target: Element): Promise<void> {
  return new Promise((resolve) => {
    const observer = new IntersectionObserver(() => {
      observer.disconnect();
      resolve();
    });
    observer.observe(target);
  });
}

const SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"><rect width="4" height="4"/></svg>';

describe('<generated-files> long lists', () => {
  it('renders only rows near the screen, keeps the rows that stay in view, and animates none of them', async () => {
    const chatId = uniqueChatId('long');
    const files = Array.from({ length: 400 }, (_, i) => makeFile(chatId, `report-${String(i).padStart(3, '0')}.csv`));
    await server.setup(chatId, { files });
    const el = mount({ 'chat-id': chatId, live: 'off' });
    await oneEvent(el, 'load');
    await el.updateComplete;

    const rendered = parts(el, 'item').length;
    assert(rendered > 0 && rendered < 150, `a window of rows, got ${rendered}`);
    assertEqual(animating(el).length, 0, 'rows of the first load do not animate');

    const row = item(el, 'report-005.csv');
    const rowPx = row.offsetHeight;
    await scrollPage(el, 3 * rowPx);
    assert(row.isConnected && item(el, 'report-005.csv') === row, 'a row still in view is the same element');

    // Far enough that new rows come into view: they appear without an animation.
    await scrollPage(el, 100 * rowPx);
    await waitFor(() => names(el).includes('report-110.csv'), 'the rows now on screen');
    assert(!row.isConnected, 'rows far off screen are removed');
    assertEqual(animating(el).length, 0, 'rows scrolled into view do not animate');
    assertEqual(names(el), [...names(el)].sort(), 'rows in order');
  });

  it('fetches thumbnails one at a time, and none for an image row that left the view before its turn', async () => {
    const chatId = uniqueChatId('thumbs');
    const files = Array.from({ length: 300 }, (_, i) =>
      makeFile(chatId, `chart-${String(i).padStart(3, '0')}.png`, { mimeType: 'image/png' }),
    );
    await server.setup(chatId, { files });
    let release = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    const thumbnails: string[] = [];
    let askedFirst = () => {};
    const firstAsked = new Promise<void>((resolve) => (askedFirst = resolve));
    const el = mount({ 'chat-id': chatId, live: 'off' }, (el) =>
      route(el, async (request) => {
        const file = files.find((f) => request.url.endsWith(f.downloadUrl));
        if (!file) return fetch(request);
        thumbnails.push(file.name);
        // The first thumbnail is held: the rest wait for their turn.
        if (thumbnails.length === 1) {
          askedFirst();
          await held;
        }
        return new Response(SVG, { headers: { 'content-type': 'image/svg+xml' } });
      }),
    );
    await oneEvent(el, 'load');
    await el.updateComplete;
    await firstAsked;
    const firstScreen = names(el).filter((name) => item(el, name).getBoundingClientRect().top < innerHeight);
    assert(firstScreen.length > 2, `several image rows in view, got ${firstScreen.length}`);

    const rowPx = item(el, 'chart-000.png').offsetHeight;
    await scrollPage(el, 150 * rowPx);
    // The test's observer is called after the element's (made earlier) for the same frame.
    await intersectionChecked(item(el, 'chart-151.png'));
    release();
    await waitFor(() => part(item(el, 'chart-151.png'), 'thumbnail'), 'the thumbnail of a row now in view');
    assertEqual(thumbnails[0], firstScreen[0], 'the first row in view was asked for first');
    assert(
      !thumbnails.slice(1).some((name) => firstScreen.includes(name)),
      `rows that left the view were not fetched: ${thumbnails.join(', ')}`,
    );
  });

  it('animates the row of a file that arrives, not the others', async () => {
    const chatId = uniqueChatId('fresh');
    const first = makeFile(chatId, 'first.txt');
    await server.setup(chatId, { files: [first] });
    // The first list loads the element; the catch-up list on stream open brings a new file.
    let lists = 0;
    const change = oneEvent<GeneratedFilesChangeEvent>(document, 'generated-files-change');
    const el = mount({ 'chat-id': chatId }, (el) =>
      route(el, (request) =>
        ++lists === 1 ? fetch(request) : json({ chatId, files: [makeFile(chatId, 'new.csv'), first], skipped: [] }),
      ),
    );
    assertEqual((await change).detail.file.name, 'new.csv');
    await el.updateComplete;
    assertEqual(item(el, 'new.csv').getAnimations().length, 1, 'the new row animates');
    assertEqual(item(el, 'first.txt').getAnimations().length, 0, 'the loaded row does not');
  });
});
