import { html, nothing, type TemplateResult } from 'lit';
import type { FileDiff, PreviewSheet } from '../contract/files-api.ts';
import type { PanelState } from './preview-controller.ts';
import { previewStyles } from './preview-styles.ts';

/*
 * The preview and diff panels' contents, imported by preview-controller.ts the first time a
 * panel opens: the script-tag build makes this a chunk of its own (with its styles), so pages
 * where nobody opens a preview never download it. The loading line is the controller's.
 */

/** Adds the panels' styles to an element's own, once, when this code loads. */
export function adoptPreviewStyles(root: unknown): void {
  const sheet = previewStyles.styleSheet;
  if (root instanceof ShadowRoot && sheet && !root.adoptedStyleSheets.includes(sheet))
    root.adoptedStyleSheets = [...root.adoptedStyleSheets, sheet];
}

const status = (text: string) => html`<p>${text}</p>`;

function table(caption: string, header: string[], rows: TemplateResult[]): TemplateResult {
  return html`<table>
    <caption class="visually-hidden">${caption}</caption>
    <thead><tr>${header.map((cell) => html`<th scope="col">${cell}</th>`)}</tr></thead>
    <tbody>${rows}</tbody>
  </table>`;
}

function sheetTable(name: string, sheet: PreviewSheet): TemplateResult {
  const [head = [], ...rows] = sheet.rows;
  return html`${table(
    `${sheet.name} of ${name}`,
    head,
    rows.map((row) => html`<tr>${row.map((cell) => html`<td>${cell}</td>`)}</tr>`),
  )}
  ${sheet.truncated ? status(`First ${rows.length} of ${sheet.rowCount - 1} rows, ${Math.min(head.length, sheet.columnCount)} of ${sheet.columnCount} columns.`) : nothing}`;
}

/**
 * One preview, from the sidecar's JSON. Text is set as text (never parsed); the docx HTML, already
 * sanitized by the sidecar, goes into a sandboxed srcdoc frame (no script, a blank origin) as a
 * second wall; HTML files load in a sandboxed frame from the sidecar, which adds a CSP sandbox.
 */
export function renderPreview(name: string, panel: PanelState, selectSheet: (index: number) => void): TemplateResult {
  if (panel.kind === 'refused') return html`<p role="alert">No preview: ${panel.message}</p>`;
  if (panel.kind !== 'preview') return html``;
  const { preview } = panel;
  switch (preview.kind) {
    case 'table': {
      const sheet = preview.sheets[panel.sheet] ?? preview.sheets[0];
      if (!sheet) return status('The workbook has no sheets.');
      return html`${
        preview.sheets.length > 1
          ? html`<div role="tablist" aria-label="Sheets of ${name}">
              ${preview.sheets.map(
                (s, i) =>
                  html`<button type="button" role="tab" aria-selected=${s === sheet ? 'true' : 'false'} @click=${() => selectSheet(i)}>${s.name}</button>`,
              )}
            </div>`
          : nothing
      }${sheetTable(name, sheet)}`;
    }
    case 'document':
      return html`<iframe sandbox="" title="Document preview of ${name}" srcdoc=${preview.html}></iframe>`;
    case 'text':
      return html`<pre tabindex="0" aria-label="Text of ${name}">${preview.text}</pre>`;
    case 'frame':
      return html`<iframe sandbox="" referrerpolicy="no-referrer" title="Preview of ${name}, scripts disabled" src=${panel.src ?? ''}></iframe>`;
    case 'image':
      return html`<img src=${panel.src ?? ''} alt="Preview of ${name}" />`;
    case 'pdf':
      return html`<iframe src=${panel.src ?? ''} title="Preview of ${name}"></iframe>`;
  }
}

function diffBody(diff: FileDiff): TemplateResult {
  switch (diff.kind) {
    case 'table':
      return html`${diff.sheets.map(
        (sheet) => html`<p>
            ${sheet.name}: ${sheet.status === 'added' || sheet.status === 'removed' ? `sheet ${sheet.status}, ` : ''}${sheet.counts.added} added,
            ${sheet.counts.removed} removed, ${sheet.counts.changed} changed${sheet.keyColumn ? ` (rows matched by ${sheet.keyColumn})` : ''}
          </p>
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
        <pre tabindex="0" aria-label="Line changes">${diff.patch}</pre>`;
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
