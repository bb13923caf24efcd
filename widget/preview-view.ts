import { html, nothing, type TemplateResult } from 'lit';
import type { FileDiff, SheetDiff } from '../contract/files-api.ts';
import type { PanelState, ViewPatch, ViewState } from './file-viewer.ts';
import { renderJsonTree } from './json-tree.ts';
import { count, renderSheetTable } from './sheet-table.ts';

/*
 * What the viewer shows of one version or one diff, from the sidecar's JSON. Part of the viewer's
 * chunk: pages where nobody opens a file never download it.
 */

const status = (text: string) => html`<p>${text}</p>`;

/**
 * Tables in a document frame get the borders Word draws; the frame follows the page's colour
 * scheme. Only a style element: the frame runs no script, whatever its HTML says.
 */
const FRAME_STYLE =
  '<style>:root{color-scheme:light dark;font:14px/1.5 system-ui,sans-serif}body{margin:1em}' +
  'table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #8c959f;padding:.25em .5em;vertical-align:top}' +
  'img{max-width:100%}</style>';

/** Sanitized HTML (the sidecar's) in a frame with no script and a blank origin: a second wall. */
export const frameDocument = (html: string): string => FRAME_STYLE + html;

function sanitizedFrame(title: string, body: string): TemplateResult {
  return html`<iframe sandbox="" title=${title} srcdoc=${frameDocument(body)}></iframe>`;
}

/** Rendered or as written: the button that switches a Markdown or JSON view. */
function sourceToggle(view: ViewState, set: (patch: ViewPatch) => void): TemplateResult {
  return html`<button part="source-toggle" type="button" aria-pressed=${view.source ? 'true' : 'false'} @click=${() => set({ source: !view.source })}>
    Source
  </button>`;
}

const ZOOM_STEPS = [0.25, 0.5, 1, 1.5, 2, 3, 4];

function zoomable(name: string, src: string, view: ViewState, set: (patch: ViewPatch) => void): TemplateResult {
  const zoom = view.zoom;
  // From the zoom as it is now, not as rendered: two quick clicks each step from the other's.
  const step = (direction: 1 | -1) =>
    set(({ zoom: now }) => {
      const current = now || 1;
      const next =
        direction > 0 ? ZOOM_STEPS.find((z) => z > current) : [...ZOOM_STEPS].reverse().find((z) => z < current);
      return { zoom: next ?? current };
    });
  return html`<div part="zoom" role="group" aria-label="Zoom">
      <button type="button" aria-label="Zoom out" ?disabled=${zoom === ZOOM_STEPS[0]} @click=${() => step(-1)}>−</button>
      <button type="button" aria-pressed=${zoom === 0 ? 'true' : 'false'} @click=${() => set({ zoom: 0 })}>Fit</button>
      <output aria-live="polite">${zoom === 0 ? 'Fit' : `${Math.round(zoom * 100)} %`}</output>
      <button type="button" aria-label="Zoom in" ?disabled=${zoom === ZOOM_STEPS.at(-1)} @click=${() => step(1)}>+</button>
    </div>
    <img
      class=${zoom === 0 ? 'fit' : 'zoomed'}
      style=${zoom && view.naturalWidth ? `width:${Math.round(view.naturalWidth * zoom)}px` : ''}
      src=${src}
      alt="Preview of ${name}"
      @load=${(e: Event) => set({ naturalWidth: (e.target as HTMLImageElement).naturalWidth })}
      @click=${() => set({ zoom: zoom === 0 ? 1 : 0 })}
    />`;
}

/**
 * One preview, from the sidecar's JSON. Text is set as text (never parsed as HTML); the docx and
 * Markdown HTML, already sanitized by the sidecar, go into a sandboxed srcdoc frame (no script, a
 * blank origin) as a second wall; HTML files load in a sandboxed frame from the sidecar, which
 * adds a CSP sandbox.
 */
export function renderPreview(
  name: string,
  panel: PanelState,
  view: ViewState,
  set: (patch: ViewPatch) => void,
): TemplateResult {
  if (panel.kind === 'refused') return html`<p role="alert">No preview: ${panel.message}</p>`;
  if (panel.kind !== 'preview') return html``;
  const { preview } = panel;
  switch (preview.kind) {
    case 'table': {
      const sheet = preview.sheets[view.sheet] ?? preview.sheets[0];
      if (!sheet) return status('The workbook has no sheets.');
      return html`${
        preview.sheets.length > 1
          ? html`<div role="tablist" aria-label="Sheets of ${name}">
              ${preview.sheets.map(
                (s, i) =>
                  html`<button type="button" role="tab" aria-selected=${s === sheet ? 'true' : 'false'} @click=${() => set({ sheet: i, sort: null })}>${s.name}</button>`,
              )}
            </div>`
          : nothing
      }${renderSheetTable(`${sheet.name} of ${name}`, sheet, view.sort, (sort) => set({ sort }))}`;
    }
    case 'document':
      return sanitizedFrame(`Document preview of ${name}`, preview.html);
    case 'text': {
      const rendered =
        view.source || preview.truncated
          ? null
          : preview.language === 'markdown' && preview.html !== undefined
            ? sanitizedFrame(`Rendered Markdown of ${name}`, preview.html)
            : preview.language === 'json'
              ? renderJsonTree(name, preview.text, view.open, (open) => set({ open }))
              : null;
      const switchable = !preview.truncated && (preview.language === 'json' || preview.html !== undefined);
      return html`${switchable ? sourceToggle(view, set) : nothing}${
        rendered ?? html`<pre tabindex="0" aria-label="Text of ${name}">${preview.text}</pre>`
      }`;
    }
    case 'frame':
      return html`<iframe sandbox="" referrerpolicy="no-referrer" title="Preview of ${name}, scripts disabled" src=${panel.src ?? ''}></iframe>`;
    case 'image':
      return zoomable(name, panel.src ?? '', view, set);
    case 'pdf':
      return html`<iframe src=${panel.src ?? ''} title="Preview of ${name}"></iframe>`;
  }
}

function table(caption: string, header: string[], rows: TemplateResult[]): TemplateResult {
  return html`<table>
    <caption class="visually-hidden">${caption}</caption>
    <thead><tr>${header.map((cell) => html`<th scope="col">${cell}</th>`)}</tr></thead>
    <tbody>${rows}</tbody>
  </table>`;
}

/** A unified diff, one line per row, coloured by what happened to it; the +/- stays as text. */
function patchLines(patch: string): TemplateResult[] {
  return patch.split('\n').map((line) => {
    const kind = /^(\+\+\+|---) /.test(line)
      ? 'file'
      : line[0] === '+'
        ? 'add'
        : line[0] === '-'
          ? 'del'
          : line.startsWith('@@')
            ? 'hunk'
            : '';
    return html`<span class=${kind}>${line}\n</span>`;
  });
}

/** "Showing 50 of 400 columns" when the sidecar cut the listed rows to their first columns (--preview-columns). */
function columnsShown(sheet: SheetDiff): TemplateResult | typeof nothing {
  const widths = sheet.rows.map((row) => Math.max(row.before?.length ?? 0, row.after?.length ?? 0));
  const shown = Math.max(sheet.header.length, ...widths);
  const columns = sheet.columnCount ?? shown;
  return sheet.rows.length && columns > shown
    ? html`<p part="preview-count">Showing ${count(shown)} of ${count(columns)} columns</p>`
    : nothing;
}

function diffBody(diff: FileDiff): TemplateResult {
  switch (diff.kind) {
    case 'table':
      return html`${diff.sheets.map(
        (sheet) => html`<p>
            ${sheet.name}: ${sheet.status === 'added' || sheet.status === 'removed' ? `sheet ${sheet.status}, ` : ''}${sheet.counts.added} added,
            ${sheet.counts.removed} removed, ${sheet.counts.changed} changed${sheet.keyColumn ? ` (rows matched by ${sheet.keyColumn})` : ''}
          </p>
          ${columnsShown(sheet)}
          ${
            sheet.rows.length
              ? table(
                  `Changed rows of ${sheet.name}`,
                  ['Change', ...sheet.header],
                  sheet.rows.map(
                    (row) => html`<tr class=${row.change === 'added' ? 'add' : row.change === 'removed' ? 'del' : ''}>
                    <td>${row.change} ${row.key}</td>
                    ${(row.after ?? row.before ?? []).map((cell, i) => html`<td>${row.change === 'changed' && row.before?.[i] !== cell ? `${row.before?.[i] ?? ''} → ${cell}` : cell}</td>`)}
                  </tr>`,
                  ),
                )
              : nothing
          }`,
      )}`;
    case 'text':
      return html`<p>${diff.counts.added} lines added, ${diff.counts.removed} removed${diff.truncated ? ' (too many changes to list)' : ''}</p>
        <pre class="patch" tabindex="0" aria-label="Line changes">${patchLines(diff.patch)}</pre>`;
    case 'binary':
      return html``;
  }
}

/** "What changed" between two versions, from the sidecar's diff JSON. */
export function renderDiff(panel: PanelState): TemplateResult {
  if (panel.kind === 'refused') return html`<p role="alert">Cannot compare: ${panel.message}</p>`;
  if (panel.kind !== 'diff') return html``;
  const { from, to, diff } = panel.diff;
  return html`${status(`Version ${from.version} → ${to.version}: ${from.size} → ${to.size} bytes${from.sha256 === to.sha256 ? ', same content' : ''}.`)}${diffBody(diff)}`;
}
