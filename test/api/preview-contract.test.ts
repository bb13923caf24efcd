/** The contract's list of previewable formats and its URL builders are what the sidecar serves. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  filesApiPaths,
  previewFramePath,
  type FileListResponse,
  type PreviewResponse,
} from '../../contract/files-api.ts';
import { isPreviewable, previewGroupOf, PREVIEW_EXTENSIONS } from '../../contract/previewable.ts';
import { previewKindOf } from '../../proxy/previews/preview-kind.ts';
import { seed, startApi, type ApiFixture } from '../support/api-fixture.ts';

describe('what is previewable, and where', () => {
  let api: ApiFixture;
  before(async () => {
    api = await startApi({ policy: { extensions: '*' } });
    await seed(api, 'c1', {
      'main.go': 'package main\n',
      'lib.rs': 'fn main() {}\n',
      'util.c': 'int main(void) { return 0; }\n',
      'App.java': 'class App {}\n',
      'page.html': '<p>hi</p>',
      'data.parquet': 'PAR1',
    });
  });
  after(() => api.close());

  it('the element and the sidecar read one list: every listed extension has a renderer, others none', () => {
    for (const extensions of Object.values(PREVIEW_EXTENSIONS))
      for (const ext of extensions.split(' ')) {
        assert.ok(isPreviewable(`f.${ext}`) && previewGroupOf(`F.${ext.toUpperCase()}`), ext);
        assert.notEqual(previewKindOf(`f.${ext}`).render, 'none', ext);
      }
    for (const name of ['data.parquet', 'archive.zip', 'Makefile', '.env', 'x.gox'])
      assert.ok(!isPreviewable(name) && previewKindOf(name).render === 'none', name);
  });

  it("serves previews of code files at the contract's URLs, and the frame URL it names", async () => {
    const { files } = (await api.request.get(filesApiPaths.files('c1'))).body as FileListResponse;
    const byName = new Map(files.map((f) => [f.name, f]));
    for (const name of ['main.go', 'lib.rs', 'util.c', 'App.java']) {
      const res = await api.request.get(filesApiPaths.filePreview('c1', byName.get(name)!.id));
      assert.equal(res.status, 200, `${name}: ${res.text}`);
      assert.equal((res.body as PreviewResponse).preview.kind, 'text', name);
    }
    const html = byName.get('page.html')!;
    const { preview } = (await api.request.get(filesApiPaths.filePreview('c1', html.id))).body as PreviewResponse;
    assert.equal(preview.kind === 'frame' && preview.url, previewFramePath('c1', html.id));
    assert.equal((await api.request.get(previewFramePath('c1', html.id))).status, 200);
    const parquet = await api.request.get(filesApiPaths.filePreview('c1', byName.get('data.parquet')!.id));
    assert.equal(parquet.body.error.code, 'ERR_PREVIEW_UNSUPPORTED');
  });
});
