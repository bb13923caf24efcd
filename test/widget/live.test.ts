import type { GeneratedFilesChangeEvent, GeneratedFilesElement } from '../../widget/generated-files.ts';
import {
  assert,
  assertEqual,
  captureDownloads,
  cleanup,
  makeFile,
  mount,
  names,
  oneEvent,
  part,
  route,
  json,
  server,
  uniqueChatId,
  waitFor,
} from './support/widget.ts';

afterEach(cleanup);

describe('<generated-files> live updates', () => {
  it('adds a file from the SSE stream without reloading, and announces it', async () => {
    const chatId = uniqueChatId('live');
    await server.setup(chatId, { files: [makeFile(chatId, 'first.txt')] });
    const el = mount({ 'chat-id': chatId });
    await waitFor(() => el.liveState === 'open', 'stream open');
    const listRequests = (await server.log(chatId)).filter((r) => r.path === '/files').length;

    const change = oneEvent<GeneratedFilesChangeEvent>(document, 'generated-files-change');
    assertEqual(await server.emit(chatId, 'file', makeFile(chatId, 'charts/new.png', { mimeType: 'image/png' })), 1);
    const { detail, bubbles, composed } = await change;
    assert(bubbles && composed, 'bubbles and composed');
    assertEqual(detail.change, 'added');
    assertEqual(detail.file.name, 'new.png');
    await el.updateComplete;
    assertEqual(names(el), ['new.png', 'first.txt']);
    await waitFor(() => part(el, 'status')?.textContent === 'New file: new.png', 'announced');

    // A new version of a known path replaces it and gets a badge.
    const updated = oneEvent<GeneratedFilesChangeEvent>(el, 'generated-files-change');
    await server.emit(chatId, 'file', makeFile(chatId, 'first.txt', { versions: 2, id: 'first-v2' }));
    assertEqual((await updated).detail.change, 'updated');
    await el.updateComplete;
    assertEqual(names(el), ['first.txt', 'new.png']);
    assert(part(el, 'version-badge'), 'badge for the new version');

    // The same event twice changes nothing. The stream is ordered: had the repeat changed
    // anything, its change event would have come before the next file's.
    const changes: string[] = [];
    el.addEventListener('generated-files-change', (e) => changes.push(e.detail.file.name));
    await server.emit(chatId, 'file', makeFile(chatId, 'first.txt', { versions: 2, id: 'first-v2' }));
    const next = oneEvent<GeneratedFilesChangeEvent>(el, 'generated-files-change');
    await server.emit(chatId, 'file', makeFile(chatId, 'next.txt'));
    await next;
    assertEqual(changes, ['next.txt']);
    assertEqual((await server.log(chatId)).filter((r) => r.path === '/files').length, listRequests, 'no list reload');
  });

  it('shows skipped files from the stream', async () => {
    const chatId = uniqueChatId('skip');
    await server.setup(chatId, { files: [] });
    const el = mount({ 'chat-id': chatId });
    await waitFor(() => el.liveState === 'open', 'stream open');
    await server.emit(chatId, 'skipped', {
      path: 'huge.bin',
      size: 5e9,
      reason: 'too-large',
      at: new Date().toISOString(),
    });
    await waitFor(() => part(el, 'skipped')?.textContent?.includes('huge.bin (5 GB, too large)'), 'skipped shown');
  });

  it('keeps a skipped event that arrives while an older list is still on its way', async () => {
    const chatId = uniqueChatId('skip-race');
    const { el, releaseList } = await mountWithCatchUpHeld(chatId);
    assertEqual(
      await server.emit(chatId, 'skipped', {
        path: 'late.bin',
        size: 5e9,
        reason: 'too-large',
        at: new Date().toISOString(),
      }),
      1,
    );
    await waitFor(() => el.skipped.some((s) => s.path === 'late.bin'), 'skipped event applied');
    // The held list brings a new file, so its change event says when it has been applied.
    await server.patch(chatId, { files: [makeFile(chatId, 'later.txt')] });
    const applied = oneEvent<GeneratedFilesChangeEvent>(el, 'generated-files-change');
    releaseList();
    assertEqual((await applied).detail.file.name, 'later.txt');
    assert(
      el.skipped.some((s) => s.path === 'late.bin'),
      'the older list did not erase it',
    );
  });

  it('keeps a file event that arrives while an older list is still on its way', async () => {
    const chatId = uniqueChatId('file-race');
    const { el, releaseList } = await mountWithCatchUpHeld(chatId);
    // The held list was taken before this file existed; the file arrives as an event meanwhile.
    const arrived = oneEvent<GeneratedFilesChangeEvent>(el, 'generated-files-change');
    assertEqual(await server.emit(chatId, 'file', makeFile(chatId, 'live.csv')), 1);
    assertEqual((await arrived).detail.file.name, 'live.csv');
    // The held list brings another new file, so its change event says when it has been applied.
    await server.patch(chatId, { files: [makeFile(chatId, 'later.txt')] });
    const applied = oneEvent<GeneratedFilesChangeEvent>(el, 'generated-files-change');
    releaseList();
    assertEqual((await applied).detail.file.name, 'later.txt');
    await el.updateComplete;
    assertEqual(
      el.files
        .map((f) => f.name)
        .sort()
        .join(','),
      'later.txt,live.csv',
    );
  });

  it('shows a chat that does not exist yet as empty, then its first file', async () => {
    const chatId = uniqueChatId('new');
    await server.setup(chatId, { files: [], eventsStatus: 404 });
    let exists = false;
    const el = mount({ 'chat-id': chatId, 'poll-interval': '100' }, (el) =>
      route(el, () =>
        exists
          ? json({ chatId, files: [makeFile(chatId, 'first.csv')], skipped: [] })
          : json({ error: { code: 'ERR_CHAT_NOT_FOUND', message: 'No such chat.' } }, 404),
      ),
    );
    await waitFor(() => el.state === 'ready' && part(el, 'empty'), 'empty, not an error');
    await waitFor(() => el.liveState === 'polling', 'still listening');
    exists = true;
    await waitFor(() => names(el).includes('first.csv'), 'first file by polling', 3000);
  });

  it('falls back to polling when the stream fails, then reconnects', async () => {
    const chatId = uniqueChatId('poll');
    await server.setup(chatId, { files: [makeFile(chatId, 'a.txt')], eventsStatus: 503 });
    const el = mount({ 'chat-id': chatId, 'poll-interval': '100' });
    await waitFor(() => el.liveState === 'polling', 'polling');

    // Polling picks up a file written while the stream is down.
    await server.patch(chatId, { files: [makeFile(chatId, 'b.txt'), makeFile(chatId, 'a.txt')] });
    await waitFor(() => names(el).includes('b.txt'), 'b.txt by polling', 3000);

    // The stream comes back: the element reconnects and streams again.
    await server.patch(chatId, { eventsStatus: 200 });
    await server.streams(chatId, 1);
    await waitFor(() => el.liveState === 'open', 'reconnected', 5000);
    await server.emit(chatId, 'file', makeFile(chatId, 'c.txt'));
    await waitFor(() => names(el).includes('c.txt'), 'c.txt over the stream');

    // A dropped stream is noticed and reopened.
    await server.drop(chatId);
    await waitFor(() => el.liveState === 'polling' || el.liveState === 'connecting', 'noticed the drop');
    await waitFor(() => el.liveState === 'open', 'open again', 5000);
    await server.streams(chatId, 1);
  });

  it('does not stream with live="off", and closes the stream when removed', async () => {
    const chatId = uniqueChatId('off');
    await server.setup(chatId, { files: [] });
    const off = mount({ 'chat-id': chatId, live: 'off' });
    // A stream starts (state `connecting`) in the same task as `load`, or not at all.
    await oneEvent(off, 'load');
    await off.updateComplete;
    assertEqual(off.liveState, 'off');
    assertEqual(await server.clients(chatId), 0);

    off.setAttribute('live', 'on');
    await server.streams(chatId, 1);
    off.remove();
    await server.streams(chatId, 0);
  });
});

describe('<generated-files> tokens', () => {
  it('sends the token attribute as a bearer header and ?token= on the stream', async () => {
    const chatId = uniqueChatId('tok');
    await server.setup(chatId, { files: [makeFile(chatId, 'a.txt')], tokens: ['secret-1'] });
    const el = mount({ 'chat-id': chatId, token: 'secret-1' });
    await waitFor(() => el.liveState === 'open', 'stream open with token');
    const log = await server.log(chatId);
    assert(
      log.some((r) => r.path === '/files' && r.authorization === 'Bearer secret-1'),
      'list with bearer',
    );
    assert(
      log.some((r) => r.path === '/events' && r.token === 'secret-1' && !r.authorization),
      'events with ?token=',
    );
  });

  it('asks the tokenProvider before requests and refreshes once on 401', async () => {
    const chatId = uniqueChatId('prov');
    const file = makeFile(chatId, 'a.txt');
    await server.setup(chatId, { files: [file], tokens: ['fresh'], contents: { [file.id]: 'hello' } });
    const calls: boolean[] = [];
    const el = mount({ 'chat-id': chatId }, (el) => {
      el.tokenProvider = async ({ refresh }) => {
        calls.push(refresh);
        return refresh || calls.length > 2 ? 'fresh' : 'expired';
      };
    });
    await oneEvent(el, 'load');
    assertEqual(calls.slice(0, 2), [false, true]);
    const log = await server.log(chatId);
    assertEqual(
      log.filter((r) => r.path === '/files').map((r) => r.authorization),
      ['Bearer expired', 'Bearer fresh'],
    );
    await waitFor(() => el.liveState === 'open', 'stream opened with a provided token');
    assert(
      (await server.log(chatId)).some((r) => r.path === '/events' && r.token === 'fresh'),
      'stream token from provider',
    );

    // Downloads use it too.
    const capture = captureDownloads();
    try {
      await el.download(el.files[0]!);
      assertEqual(capture.downloads.length, 1);
      assertEqual(await (await fetch(capture.downloads[0]!.href)).text(), 'hello');
    } finally {
      capture.restore();
    }
  });

  it('shows the error when the refreshed token is refused too', async () => {
    const chatId = uniqueChatId('deny');
    await server.setup(chatId, { files: [], tokens: ['never'] });
    let calls = 0;
    const el = mount({ 'chat-id': chatId }, (el) => {
      el.tokenProvider = () => `wrong-${calls++}`;
    });
    const error = await oneEvent<CustomEvent<{ error: Error }>>(el, 'error');
    assertEqual(calls, 2, 'one refresh, no loop');
    assertEqual(error.detail.error.message, 'The token is not valid.');
  });

  it('loads once a token arrives after a 401', async () => {
    const chatId = uniqueChatId('late');
    await server.setup(chatId, { files: [makeFile(chatId, 'a.txt')], tokens: ['late'] });
    const el = mount({ 'chat-id': chatId, live: 'off' });
    await oneEvent(el, 'error');
    const loaded = oneEvent(el, 'load');
    el.setAttribute('token', 'late');
    await loaded;
    await el.updateComplete;
    assertEqual(names(el), ['a.txt']);
  });
});

/**
 * Mounts the element on an empty chat and holds back the catch-up list it asks for when its
 * stream opens: resolves once that list is on its way and the stream is open.
 */
async function mountWithCatchUpHeld(chatId: string): Promise<{ el: GeneratedFilesElement; releaseList: () => void }> {
  await server.setup(chatId, { files: [] });
  let releaseList: () => void = () => {};
  let catchUpSent: () => void = () => {};
  const sent = new Promise<void>((resolve) => (catchUpSent = resolve));
  let lists = 0;
  const el = mount({ 'chat-id': chatId }, (el) =>
    route(el, async (request) => {
      // The first list loads the element; the catch-up list on stream open is held back.
      if (++lists === 2) {
        catchUpSent();
        await new Promise<void>((resolve) => (releaseList = resolve));
      }
      return fetch(request);
    }),
  );
  await sent;
  await server.streams(chatId, 1);
  return { el, releaseList: () => releaseList() };
}
