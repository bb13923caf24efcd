/**
 * An <img> source for bytes fetched with the element's auth. An object URL (`blob:`) where the
 * page's Content Security Policy lets images load from one; a `data:` URL where it does not, as in
 * an MCP App, whose host builds `img-src 'self' data: <declared origins>` and has no way to be
 * told `blob:` (the spec's domains are origins). Part of the list's and the viewer's chunks.
 */

/** The smallest image, to ask the page's policy once. */
const PROBE_SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>';

let blobImagesLoad: Promise<boolean> | undefined;

/** Whether an image from a `blob:` URL loads on this page (a policy that refuses it fires `error`). Asked once. */
function blobImagesAllowed(): Promise<boolean> {
  blobImagesLoad ??= new Promise<boolean>((resolve) => {
    const url = URL.createObjectURL(new Blob([PROBE_SVG], { type: 'image/svg+xml' }));
    const probe = new Image();
    const settle = (loaded: boolean) => {
      URL.revokeObjectURL(url);
      resolve(loaded);
    };
    probe.onload = () => settle(true);
    probe.onerror = () => settle(false);
    probe.src = url;
  });
  return blobImagesLoad;
}

function dataUrl(blob: Blob): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result as string);
    reader.onerror = () => reject(reader.error ?? new Error('The image could not be read.'));
    reader.readAsDataURL(blob);
  });
}

/** A source the page's policy lets an <img> show; give it back to `releaseImageSource` when done. */
export async function imageSource(blob: Blob): Promise<string> {
  return (await blobImagesAllowed()) ? URL.createObjectURL(blob) : dataUrl(blob);
}

/** Frees what `imageSource` made (an object URL; a `data:` URL holds nothing to free). */
export function releaseImageSource(src: string | undefined): void {
  if (src?.startsWith('blob:')) URL.revokeObjectURL(src);
}
