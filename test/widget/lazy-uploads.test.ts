// The upload code is a chunk of its own, imported next to the bundle by an element with `uploads`.
import {
  assert,
  assertEqual,
  bundleCopy,
  cleanup,
  mount,
  part,
  server,
  uniqueChatId,
  waitFor,
} from './support/widget.ts';

const CHUNK = 'generated-files-uploads-controller.js';

afterEach(cleanup);

describe('<generated-files> upload code, loaded on first use', () => {
  it('a failed load says so where the upload area goes, once, and Retry loads it', async () => {
    const copy = await bundleCopy('generated-files-lazy-uploads');
    await copy.hold();
    const chatId = uniqueChatId('lazy-uploads');
    await server.setup(chatId, { files: [] });
    const el = mount({ 'chat-id': chatId, live: 'off', uploads: true }, undefined, 'generated-files-lazy-uploads');
    await copy.held();
    await el.updateComplete;
    assert(!part(el, 'uploads') && !part(el, 'uploads-error'), 'nothing to show while the code loads');

    await copy.fail();
    const alert = await waitFor(() => part(el, 'uploads-error'), 'the failure');
    assert(alert.getAttribute('role') === 'alert', 'announced');
    assertEqual(
      alert.querySelector(':scope > span')!.textContent,
      'Could not load the upload code: the network dropped.',
    );
    assert(alert.querySelector('details')!.textContent!.includes(CHUNK), "the module's URL, behind Details");
    // Further updates do not import it again by themselves: only Retry does.
    const tries = () =>
      performance.getEntriesByType('resource').filter((entry) => entry.name.endsWith(`/${CHUNK}`)).length;
    const before = tries();
    el.heading = 'Files again';
    await el.updateComplete;
    await el.updateComplete;
    assert(tries() === before, `imported again without Retry (${before} → ${tries()})`);

    await copy.serve();
    part(alert, 'retry-button')!.click();
    await waitFor(() => part(el, 'uploads'), 'the upload area after Retry');
    assert(!part(el, 'uploads-error'), 'the failure is gone');
    assert(copy.requested(CHUNK), 'the chunk came from next to the bundle');
  });
});
