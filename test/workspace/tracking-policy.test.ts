import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatLabel, mimeTypeOf } from '../../proxy/workspace/format-label.ts';
import { createTrackingPolicy } from '../../proxy/workspace/tracking-policy.ts';

describe('tracking policy', () => {
  const policy = createTrackingPolicy();

  it('tracks the default extensions, in any case, in any folder', () => {
    for (const rel of ['report.xlsx', 'out/data.CSV', 'a/b/c/chart.png', 'notes.md', 'x.parquet']) {
      assert.equal(policy.tracks(rel), true, rel);
    }
    for (const rel of ['script.py', 'Makefile', 'model.pkl', 'archive.tar.gz']) {
      assert.equal(policy.tracks(rel), false, rel);
    }
  });

  it('skips hidden, cache, lock and partial files', () => {
    for (const rel of [
      '.secret.csv',
      '.ipynb_checkpoints/report-checkpoint.csv',
      'out/.~lock.report.xlsx#',
      '__pycache__/x.json',
      '~$report.xlsx',
      'download.csv.crdownload',
      'big.zip.part',
      'data.tmp',
      'a/.hidden/b.csv',
      '.sidecar-upload-123.part',
    ]) {
      assert.equal(policy.tracks(rel), false, rel);
    }
  });

  it("records everything with '*' and includeHidden", () => {
    const all = createTrackingPolicy({ extensions: '*', includeHidden: true });
    assert.equal(all.tracks('Makefile'), true);
    assert.equal(all.tracks('.env'), true);
    assert.equal(all.includesDirectory('.git'), true);
    assert.equal(all.tracks('.sidecar-upload-1.part'), false, 'upload temp files never');
    assert.equal(createTrackingPolicy({ extensions: ['.PY'] }).tracks('a.py'), true);
  });

  it('reports files over the size limit or the quota', () => {
    const small = createTrackingPolicy({ maxFileBytes: 10, quotaBytes: 25 });
    assert.equal(small.limitFor(10, 0), null);
    assert.equal(small.limitFor(11, 0), 'too-large');
    assert.equal(small.limitFor(10, 16), 'quota-exceeded');
    assert.equal(createTrackingPolicy().maxFileBytes, 512 * 1024 * 1024);
    assert.equal(createTrackingPolicy().quotaBytes, 5 * 1024 ** 3);
  });

  it('labels formats and MIME types', () => {
    assert.equal(formatLabel('a.xlsx'), 'Excel workbook');
    assert.equal(formatLabel('a.CSV'), 'CSV');
    assert.equal(formatLabel('a.pdf'), 'PDF');
    assert.equal(formatLabel('a.png'), 'PNG image');
    assert.equal(formatLabel('a.xyz'), 'XYZ file');
    assert.equal(mimeTypeOf('a.xlsx'), 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet');
    assert.equal(mimeTypeOf('a.csv'), 'text/csv');
    assert.equal(mimeTypeOf('noext'), 'application/octet-stream');
  });
});
