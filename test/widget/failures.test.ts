// When something fails, the element says what, in plain words, and the host page stays put:
// on the sidecar's real files API, stopped mid-session, refusing this page's origin by CORS,
// and given a token for another chat.
import type { GeneratedFilesElement } from '../../widget/generated-files.ts';
import {
  assert,
  assertEqual,
  cleanup,
  item,
  mount,
  oneEvent,
  part,
  realApi,
  uniqueChatId,
  waitFor,
} from './support/widget.ts';

interface NavigateEvent extends Event {
  destination: { url: string };
}
/** The Navigation API (Chromium): every navigation of this page fires `navigate` first, links included. */
const navigation = (window as unknown as { navigation: EventTarget }).navigation;

/** Records (and stops) any navigation of the test page itself. */
function watchNavigations(): { seen: string[]; stop: () => void } {
  const seen: string[] = [];
  const onNavigate = (event: Event) => {
    seen.push((event as NavigateEvent).destination.url);
    event.preventDefault();
  };
  navigation.addEventListener('navigate', onNavigate);
  return { seen, stop: () => navigation.removeEventListener('navigate', onNavigate) };
}

/** The visible sentence of a problem, without its details. */
const plainText = (problem: HTMLElement) => problem.querySelector(':scope > span')!.textContent!;
const details = (problem: HTMLElement) => problem.querySelector('details')!.textContent!;

const liveState = (el: GeneratedFilesElement) => part(el, 'live-status')?.dataset.state;

afterEach(async () => {
  cleanup();
  await realApi.up();
});

describe('<generated-files> when the sidecar goes away mid-session (real files API)', () => {
  it('never navigates the host page, shows offline and why, and recovers on its own', async () => {
    const chatId = uniqueChatId('down');
    await realApi.seed(chatId, { 'small.csv': 'a,b\n1,2\n', 'big.csv': 'x'.repeat(64) });
    const [origin, token] = await Promise.all([realApi.flakyOrigin(), realApi.token(chatId)]);
    const el = mount({ 'chat-id': chatId, src: origin, token, 'poll-interval': '50', 'link-threshold': '32' });
    await oneEvent(el, 'load');
    await waitFor(() => liveState(el) === 'open', 'the stream open');
    assertEqual(part(el, 'live-status')!.textContent!.trim(), 'Live');

    const navigations = watchNavigations();
    try {
      await realApi.down();
      await waitFor(() => liveState(el) === 'offline', 'offline shown');
      const offline = part(el, 'live-status')!;
      assertEqual(offline.localName, 'button', 'offline offers Retry now');
      assert(offline.textContent!.includes('Offline'), offline.textContent!);

      // A small file (fetched by the page) and a big one (a link the sidecar would mint).
      for (const name of ['small.csv', 'big.csv']) {
        part(item(el, name), 'download-button')!.click();
        const notice = await waitFor(
          () => (part(el, 'notice')?.textContent?.includes(name) ? part(el, 'notice') : null),
          `the failed download of ${name}`,
        );
        assertEqual(notice.getAttribute('role'), 'alert');
        assert(
          plainText(notice).includes(`Could not download ${name}. Cannot reach the sidecar at ${origin}`),
          plainText(notice),
        );
        assert(!plainText(notice).includes('Failed to fetch'), 'the browser says that, behind Details');
        assert(details(notice).includes('Failed to fetch'), details(notice));
        assert(!part(item(el, name), 'download-button')!.hasAttribute('disabled'), 'the button is usable again');
      }
      assertEqual(navigations.seen, [], 'the host page never navigated');
      assertEqual(el.files.length, 2, 'the list is kept');

      await realApi.up();
      await waitFor(() => liveState(el) === 'open', 'live again, on its own');
      assert(!part(el, 'notice'), 'the notice cleared once the sidecar answered');
      assertEqual(navigations.seen, []);
    } finally {
      navigations.stop();
    }
  });

  it('a first load with the sidecar down says so, and the list appears once it is back', async () => {
    const chatId = uniqueChatId('down-first');
    await realApi.seed(chatId, { 'late.csv': 'late' });
    const [origin, token] = await Promise.all([realApi.flakyOrigin(), realApi.token(chatId)]);
    await realApi.down();
    const el = mount({ 'chat-id': chatId, src: origin, token, 'poll-interval': '50' });
    await oneEvent(el, 'error');
    await el.updateComplete;
    const error = part(el, 'error')!;
    assert(plainText(error).includes(`Cannot reach the sidecar at ${origin}`), plainText(error));
    assertEqual(liveState(el), 'offline');

    await realApi.up();
    await waitFor(() => el.state === 'ready' && el.files.length === 1, 'the list, loaded by a retry of its own');
    assert(!part(el, 'error'), 'the error is gone');
  });

  it('downloads a big file in a hidden frame, never in the host page', async () => {
    const chatId = uniqueChatId('frame');
    await realApi.seed(chatId, { 'big.csv': 'x'.repeat(64) });
    const [origin, token] = await Promise.all([realApi.origin(), realApi.token(chatId)]);
    const el = mount({ 'chat-id': chatId, src: origin, token, live: 'off', 'link-threshold': '32' });
    await oneEvent(el, 'load');
    const navigations = watchNavigations();
    try {
      await el.download(el.files[0]!);
      const frame = document.querySelector<HTMLIFrameElement>('iframe[name=generated-files-download]');
      assert(frame?.hidden, 'a hidden frame took the link');
      assertEqual(navigations.seen, [], 'the host page never navigated');
      assert(!part(el, 'notice'), 'nothing failed');
    } finally {
      navigations.stop();
    }
  });
});

describe('<generated-files> says what is wrong (real files API)', () => {
  it('CORS refused: names the fix, --cors-origins with this page origin', async () => {
    const chatId = uniqueChatId('cors');
    await realApi.seed(chatId, { 'a.csv': 'a' });
    const [origin, token] = await Promise.all([realApi.strictOrigin(), realApi.token(chatId)]);
    const el = mount({ 'chat-id': chatId, src: origin, token, live: 'off' });
    await oneEvent(el, 'error');
    await el.updateComplete;
    const error = part(el, 'error')!;
    assert(plainText(error).includes(`--cors-origins ${location.origin}`), plainText(error));
    assert(plainText(error).includes(`The sidecar at ${origin} refuses this page's origin (CORS)`), plainText(error));
    assert(details(error).includes('Failed to fetch'), details(error));
  });

  it('a token for another chat says the token and the chat disagree, not "no files"', async () => {
    const chatId = uniqueChatId('mine');
    await realApi.seed(chatId, { 'a.csv': 'a' });
    const [origin, otherToken] = await Promise.all([realApi.origin(), realApi.token('someone-else')]);
    const el = mount({ 'chat-id': chatId, src: origin, token: otherToken, live: 'off' });
    await oneEvent(el, 'error');
    await el.updateComplete;
    assert(!part(el, 'empty'), 'not shown as an empty chat');
    const text = plainText(part(el, 'error')!);
    assert(text.includes('the token and the chat disagree'), text);
    assert(text.includes('"someone-else"') && text.includes(`"${chatId}"`), text);
  });

  it('a chat with no files yet, with its own token, is empty, not an error', async () => {
    const chatId = uniqueChatId('new');
    const [origin, token] = await Promise.all([realApi.origin(), realApi.token(chatId)]);
    const el = mount({ 'chat-id': chatId, src: origin, token, live: 'off' });
    await oneEvent(el, 'load');
    await el.updateComplete;
    assert(part(el, 'empty'), 'the empty message');
  });

  it('no token: says the page is not signed in; the bearer-header detail stays behind Details', async () => {
    const chatId = uniqueChatId('anon');
    await realApi.seed(chatId, { 'a.csv': 'a' });
    const el = mount({ 'chat-id': chatId, src: await realApi.origin(), live: 'off' });
    await oneEvent(el, 'error');
    await el.updateComplete;
    const error = part(el, 'error')!;
    assert(plainText(error).includes('not signed in'), plainText(error));
    assert(!plainText(error).includes('Bearer'), plainText(error));
    assert(details(error).includes('401 ERR_UNAUTHORIZED'), details(error));
  });
});
