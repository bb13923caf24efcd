// The preview code is a chunk of its own, imported next to the bundle when the first panel opens.
import {
  assert,
  assertEqual,
  bundleCopy,
  cleanup,
  item,
  makeFile,
  mount,
  oneEvent,
  part,
  server,
  tablePreview,
  uniqueChatId,
  waitFor,
} from './support/widget.ts';

const CHUNK = 'generated-files-file-viewer.js';

async function mountWithTable(name: string, tag?: string) {
  const chatId = uniqueChatId('lazy');
  const file = makeFile(chatId, name);
  await server.setup(chatId, {
    files: [file],
    answers: tablePreview(file, [
      ['id', 'value'],
      ['1', 'a'],
    ]),
  });
  const el = mount({ 'chat-id': chatId, live: 'off' }, undefined, tag);
  await oneEvent(el, 'load');
  await el.updateComplete;
  return el;
}

afterEach(cleanup);

describe('<generated-files> preview code, loaded on first use', () => {
  it('says "Loading" while the code loads; a failed load says so, and Retry loads it', async () => {
    const copy = await bundleCopy('generated-files-lazy');
    const el = await mountWithTable('table.csv', 'generated-files-lazy');
    assert(!copy.requested(CHUNK), 'a page with no preview open has not asked for the preview code');
    await copy.hold();
    const button = part(el, 'preview-button')!;
    button.click();
    await copy.held();
    await el.updateComplete;
    assertEqual(part(el, 'preview')!.textContent!.trim(), 'Loading preview…');
    assertEqual(button.getAttribute('aria-haspopup'), 'dialog');

    await copy.fail();
    const alert = await waitFor(() => part(el, 'preview')?.querySelector('[role=alert]'), 'the failure');
    const [said, detail] = [alert.querySelector(':scope > span')!.textContent!, alert.querySelector('details')!];
    assertEqual(said, 'Could not load the preview: the network dropped.', 'plain words');
    assert(detail.textContent!.includes(CHUNK), `the module's URL, behind Details: ${detail.textContent}`);
    assert(!detail.open, 'Details closed');
    assert(!part(el, 'preview')!.querySelector('table'), 'no half-shown preview');

    await copy.serve();
    part(part(el, 'preview')!, 'retry-button')!.click();
    const table = await waitFor(() => part(el, 'preview')?.querySelector('table'), 'the table after Retry');
    assert(copy.requested(CHUNK), 'the chunk came from next to the bundle');
    assertEqual(table.querySelector('th')!.textContent!.trim(), 'id');
    assert(!part(el, 'preview')!.querySelector('[role=alert]'), 'the failure is gone');
    // The chunk's styles joined the element's.
    assertEqual(getComputedStyle(table).borderCollapse, 'collapse');
  });

  it("gives each element on the page the preview's styles", async () => {
    const first = await mountWithTable('first.csv');
    const second = await mountWithTable('second.csv');
    for (const [el, name] of [
      [first, 'first.csv'],
      [second, 'second.csv'],
    ] as const) {
      part(item(el, name), 'preview-button')!.click();
      const table = await waitFor(() => part(el, 'preview')?.querySelector('table'), `the table of ${name}`);
      assertEqual(getComputedStyle(table).borderCollapse, 'collapse');
    }
  });
});
