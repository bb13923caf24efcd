import { assert, assertEqual, cleanup, item, mountReal, oneEvent, part } from './support/widget.ts';

afterEach(cleanup);

describe('<generated-files> on the real files API', () => {
  it('takes the icon from the name, not from the format label ("Excel workbook" is an xlsx)', async () => {
    const { el } = await mountReal(
      { live: 'off' },
      { 'out/report.xlsx': 'xlsx bytes', 'notes.md': '# hi', 'deck.pptx': 'p', 'all.zip': 'z' },
    );
    await oneEvent(el, 'load');
    await el.updateComplete;
    const report = el.files.find((f) => f.name === 'report.xlsx')!;
    assertEqual(report.format, 'Excel workbook', 'the sidecar sends a label');

    const icon = part(item(el, 'report.xlsx'), 'icon')!;
    assertEqual(icon.querySelector('text')?.textContent, 'XLSX');
    assert(icon.querySelector('svg')!.classList.contains('icon--spreadsheet'), 'the spreadsheet colour class');
    const fill = getComputedStyle(icon.querySelector('.icon__band')!).fill;
    const neutral = getComputedStyle(part(item(el, 'all.zip'), 'icon')!.querySelector('.icon__band')!).fill;
    assert(fill !== neutral, `the spreadsheet colour differs from the archive's (${fill})`);
    assert(part(item(el, 'report.xlsx'), 'meta')!.textContent!.includes('Excel workbook'), 'the label is read out');

    assertEqual(part(item(el, 'notes.md'), 'icon')!.querySelector('text')?.textContent, 'MD');
    assertEqual(part(item(el, 'deck.pptx'), 'icon')!.querySelector('text')?.textContent, 'PPTX');
    assert(part(item(el, 'deck.pptx'), 'icon')!.querySelector('svg')!.classList.contains('icon--slides'), 'slides');
  });
});
