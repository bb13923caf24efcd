/**
 * The script-tag entry: registers <generated-files> once (loading it twice,
 * or two copies of it, is harmless) and exports the element and its events.
 *
 *   <script type="module" src="https://sidecar.example/sidecar/widget/generated-files.js"></script>
 *   <generated-files chat-id="c1"></generated-files>
 */
import { GeneratedFilesElement } from './generated-files-element.ts';

export {
  GeneratedFilesElement,
  sandboxPath,
  type LoadState,
  type LiveState,
  type TokenProvider,
} from './generated-files-element.ts';
export {
  GeneratedFilesChangeEvent,
  GeneratedFilesDownloadEvent,
  GeneratedFilesUploadEvent,
  type GeneratedFilesChangeDetail,
  type GeneratedFilesDownloadDetail,
  type GeneratedFilesUploadDetail,
} from './events.ts';
export { FilesApiError } from './files-client.ts';
export type { UploadRequest, UploadTransfer } from './upload-transfer.ts';

GeneratedFilesElement.define();

declare global {
  interface HTMLElementTagNameMap {
    'generated-files': GeneratedFilesElement;
  }
}
