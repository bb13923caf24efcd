/** Number formats through numfmt, as the readers use them: the codes users write, and the ones that break. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { builtInFormat, formatNumber } from '../../proxy/previews/sheets/number-format.ts';

describe('number formats', () => {
  it('formats a value as the workbook shows it', () => {
    const cases: Array<[number, string, string]> = [
      [1.5, 'General', '1.5'],
      [10000, 'General', '10000'],
      [1234.5, '#,##0.00 [$€-407]', '1.234,50 €'],
      [1234.5, '[$$-409]#,##0.00', '$1,234.50'],
      [-1.5, '_-* #,##0.00\\ "€"_-;\\-* #,##0.00\\ "€"_-;_-* "-"??\\ "€"_-;_-@_-', '-1.50 €'],
      [0.256, '0.0%', '25.6%'],
      [45356, 'yyyy-mm-dd', '2024-03-05'],
      [45356.75, 'dd/mm/yyyy hh:mm', '05/03/2024 18:00'],
      [12, '"Qty: "0', 'Qty: 12'],
      [150, '[>100]"big";"small"', 'big'],
    ];
    for (const [value, code, shown] of cases) assert.equal(formatNumber(value, code), shown, code);
  });

  it('built-in ids: the locale-dependent short dates as ISO, the rest from the table', () => {
    assert.equal(formatNumber(45356, builtInFormat(14)), '2024-03-05');
    assert.equal(formatNumber(45356.5, builtInFormat(22)), '2024-03-05 12:00');
    assert.equal(formatNumber(0.5, builtInFormat(9)), '50%');
    assert.equal(builtInFormat(4000), 'General');
  });

  it('the 1904 date system shifts dates only', () => {
    assert.equal(formatNumber(43894, 'yyyy-mm-dd', true), '2024-03-05');
    assert.equal(formatNumber(43894, '0', true), '43894');
  });

  it('a code it cannot read, an overlong code, a date out of range: shown as a number, never an error', () => {
    assert.equal(formatNumber(1.5, '[Red'), '1.5');
    assert.equal(formatNumber(1.5, `0${'0'.repeat(300)}`), '1.5');
    assert.equal(formatNumber(1e9, 'yyyy-mm-dd'), '1000000000');
    assert.equal(formatNumber(Number.NaN, '0.00'), 'NaN');
  });
});
