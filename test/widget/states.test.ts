import {
  assert,
  assertEqual,
  cleanup,
  json,
  makeFile,
  mount,
  names,
  oneEvent,
  part,
  route,
  server,
  uniqueChatId,
  waitFor,
  widget,
  BUNDLE_URL,
} from './support/widget.ts';

afterEach(cleanup);

describe('<generated-files> states', () => {
  it('registers from the bundle and tolerates a second load and define()', async () => {
    assert(customElements.get('generated-files') === widget.GeneratedFilesElement, 'registered');
    await import(`${BUNDLE_URL}?second-copy`);
    widget.GeneratedFilesElement.define();
    assert(document.createElement('generated-files') instanceof widget.GeneratedFilesElement, 'still the first class');
  });

  it('is idle without a chat-id and makes no request', async () => {
    const el = mount({}, (el) => route(el, () => json({}, 500)));
    await el.updateComplete;
    assertEqual(el.state, 'idle');
    assert(part(el, 'idle'), 'idle message');
  });

  it('shows loading until the list arrives, then the list', async () => {
    const chatId = uniqueChatId();
    let answer!: (r: Response) => void;
    const pending = new Promise<Response>((r) => (answer = r));
    const el = mount({ 'chat-id': chatId, live: 'off' }, (el) => route(el, () => pending));
    await el.updateComplete;
    assertEqual(el.state, 'loading');
    assert(part(el, 'loading'), 'loading message');
    assertEqual(part(el, 'base')?.getAttribute('aria-busy'), 'true');

    const loaded = oneEvent(el, 'load');
    answer(json({ chatId, files: [makeFile(chatId, 'report.xlsx'), makeFile(chatId, 'out/chart.png')], skipped: [] }));
    await loaded;
    await el.updateComplete;
    assertEqual(el.state, 'ready');
    assertEqual(names(el), ['report.xlsx', 'chart.png']);
    assertEqual(part(el, 'list')?.localName, 'ul');
    assertEqual(part(el, 'list')?.getAttribute('role'), 'list');
    assertEqual(part(el, 'folder')?.textContent, 'in out/');
    assert(part(el, 'count')?.textContent?.startsWith('2'), 'count');
    const time = part(el, 'meta')!.querySelector('time')!;
    assert(time.getAttribute('datetime'), 'time has datetime');
    assertEqual(time.textContent, '5 minutes ago');
    assertEqual(part(el, 'meta')!.textContent!.split(' · ')[0], '1 kB');
  });

  it('shows the empty state', async () => {
    const chatId = uniqueChatId();
    const el = mount({ 'chat-id': chatId, live: 'off' }, (el) =>
      route(el, () => json({ chatId, files: [], skipped: [] })),
    );
    await oneEvent(el, 'load');
    await el.updateComplete;
    assert(part(el, 'empty'), 'empty message');
    assert(!part(el, 'list'), 'no list');
    assert(!part(el, 'download-all-button'), 'no download all');
  });

  it('shows an error with Retry, and Retry loads the list', async () => {
    const chatId = uniqueChatId();
    let fail = true;
    const el = mount({ 'chat-id': chatId, live: 'off' }, (el) =>
      route(el, () =>
        fail
          ? json({ error: { code: 'STORE_UNAVAILABLE', message: 'The store is down' } }, 503)
          : json({ chatId, files: [makeFile(chatId, 'a.csv')], skipped: [] }),
      ),
    );
    const error = await oneEvent<CustomEvent<{ error: Error & { code?: string; status?: number } }>>(el, 'error');
    assertEqual(error.detail.error.message, 'The store is down');
    assertEqual(error.detail.error.code, 'STORE_UNAVAILABLE');
    assertEqual(error.detail.error.status, 503);
    assert(error.detail.error instanceof widget.FilesApiError, 'a FilesApiError');
    await el.updateComplete;
    assertEqual(el.state, 'error');
    assert(part(el, 'error')?.textContent?.includes('The store is down'), 'message shown');
    assertEqual(part(el, 'error')?.getAttribute('role'), 'alert');

    fail = false;
    const loaded = oneEvent(el, 'load');
    part(el, 'retry-button')!.click();
    await loaded;
    await el.updateComplete;
    assertEqual(el.state, 'ready');
    assertEqual(names(el), ['a.csv']);
  });

  it('fires loadstart, load, loadend (or error) in order, without bubbling', async () => {
    const chatId = uniqueChatId();
    const seen: string[] = [];
    const bubbled: string[] = [];
    const onDocument = (e: Event) => bubbled.push(e.type);
    for (const type of ['loadstart', 'load', 'error', 'loadend']) document.addEventListener(type, onDocument);
    try {
      let status = 200;
      const el = mount({ 'chat-id': chatId, live: 'off' }, (el) => {
        route(el, () =>
          json(status === 200 ? { chatId, files: [], skipped: [] } : { error: { code: 'X', message: 'x' } }, status),
        );
        for (const type of ['loadstart', 'load', 'error', 'loadend'])
          el.addEventListener(type, (e) => seen.push(e.type));
      });
      await oneEvent(el, 'loadend');
      assertEqual(seen, ['loadstart', 'load', 'loadend']);
      seen.length = 0;
      status = 500;
      await el.reload();
      assertEqual(seen, ['loadstart', 'error', 'loadend']);
      assertEqual(bubbled, []);
    } finally {
      for (const type of ['loadstart', 'load', 'error', 'loadend']) document.removeEventListener(type, onDocument);
    }
  });

  it('renders HTML in file names, folders and errors as text', async () => {
    const chatId = uniqueChatId();
    const evil = '<img src=x onerror="window.__pwned=1">.csv';
    const file = makeFile(chatId, `<b>dir</b>/${evil}`);
    const el = mount({ 'chat-id': chatId, live: 'off' }, (el) =>
      route(el, () =>
        json({
          chatId,
          files: [file],
          skipped: [{ path: '<script>x</script>.bin', size: 1, reason: 'too-large', at: file.createdAt }],
        }),
      ),
    );
    await oneEvent(el, 'load');
    await el.updateComplete;
    // An <img src=x> made from the name would have failed to load by the time one made here
    // with the same src has (the same URL, asked for later).
    const control = new Image();
    const failed = oneEvent(control, 'error');
    control.src = 'x';
    await failed;
    assertEqual(names(el), [evil]);
    assertEqual(part(el, 'folder')?.textContent, 'in <b>dir</b>/');
    const root = el.shadowRoot!;
    assert(!root.querySelector('[part~="item"] img, b, script'), 'no element was created from a name');
    assert(part(el, 'skipped')?.textContent?.includes('<script>x</script>.bin'), 'skipped path as text');
    assertEqual((window as unknown as { __pwned?: number }).__pwned, undefined);
  });

  it('starts over when chat-id changes, and keeps working after being moved', async () => {
    const a = uniqueChatId('a');
    const b = uniqueChatId('b');
    await server.setup(a, { files: [makeFile(a, 'from-a.txt')] });
    await server.setup(b, { files: [makeFile(b, 'from-b.txt')] });
    const el = mount({ 'chat-id': a, live: 'off' });
    await waitFor(() => names(el)[0] === 'from-a.txt', 'chat a');
    el.setAttribute('chat-id', b);
    await waitFor(() => names(el).join() === 'from-b.txt', 'chat b');
    const host = document.createElement('div');
    document.body.append(host);
    host.append(el);
    await waitFor(() => el.state === 'ready' && names(el).join() === 'from-b.txt', 'reloaded after move');
    host.remove();
  });
});
