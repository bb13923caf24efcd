/**
 * What the sidecar previews, by extension: the one list the sidecar's renderers
 * (proxy/previews/preview-kind.ts) and the element's Preview button both read. No runtime
 * imports: it runs in Node and in the browser as it is.
 */

/** Extensions by how their preview is rendered (space-separated: the element's bundle stays small). */
export const PREVIEW_EXTENSIONS = {
  delimited: 'csv tsv tab',
  workbook: 'xlsx xlsm ods xls',
  document: 'docx',
  markdown: 'md markdown',
  json: 'json geojson jsonl',
  code: 'py js mjs ts css sql r sh yaml yml xml toml ini java c h cpp go rs rb ipynb',
  text: 'txt log text',
  /** HTML: a sandboxed iframe, never on the sidecar's origin with script. */
  frame: 'html htm',
  /** Raster images and SVG (as an image, its script never runs). */
  image: 'png jpg jpeg gif webp avif bmp svg',
  pdf: 'pdf',
} as const satisfies Record<string, string>;

export type PreviewGroup = keyof typeof PREVIEW_EXTENSIONS;

const GROUPS = /* @__PURE__ */ Object.entries(PREVIEW_EXTENSIONS) as [PreviewGroup, string][];

/** The lower-cased extension of a file name or path (`''` for none, and for dotfiles). */
export function extensionOf(name: string): string {
  const base = name.slice(name.lastIndexOf('/') + 1);
  const dot = base.lastIndexOf('.');
  return dot > 0 ? base.slice(dot + 1).toLowerCase() : '';
}

/** How a file's preview is rendered, or null: it only downloads. */
export function previewGroupOf(name: string): PreviewGroup | null {
  const ext = extensionOf(name);
  return (ext && GROUPS.find(([, extensions]) => ` ${extensions} `.includes(` ${ext} `))?.[0]) || null;
}

const PREVIEWABLE = /* @__PURE__ */ new RegExp(
  `\\.(${Object.values(PREVIEW_EXTENSIONS).join('|').replaceAll(' ', '|')})$`,
  'i',
);

/** Does the sidecar preview this file? (What previewGroupOf says, in the element's smaller form.) */
export const isPreviewable = (name: string): boolean => PREVIEWABLE.test(name);
