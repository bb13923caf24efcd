import { css } from 'lit';

/**
 * The viewer's styles, loaded with its code: pages where nobody opens a file never get them.
 * Added and removed lines and rows have a colour per scheme whose text passes WCAG AA (4.5:1).
 */
export const viewerStyles = css`
  :host {
    --_add: #dafbe1;
    --_del: #ffebe9;
    --_hunk: #ddf4ff;
  }

  @media (prefers-color-scheme: dark) {
    :host {
      --_add: #173b25;
      --_del: #4a1c1f;
      --_hunk: #15304f;
    }
  }

  [part~='viewer'] {
    position: fixed;
    inset: 0;
    width: 100%;
    height: 100%;
    max-width: none;
    max-height: none;
    margin: 0;
    padding: 0;
    border: 0;
    display: flex;
    flex-direction: column;
    color: var(--_color);
    background: var(--_background);
    font-family: var(--_font);
    font-size: var(--_font-size);
    line-height: 1.45;
  }

  [part~='viewer']:not([open]) {
    display: none;
  }

  [part~='viewer']::backdrop {
    background: rgb(0 0 0 / 0.5);
  }

  [part~='viewer-toolbar'] {
    display: flex;
    flex-wrap: wrap;
    align-items: center;
    justify-content: space-between;
    gap: var(--_space);
    padding: calc(var(--_space) * 0.75) var(--_space);
    border-bottom: 1px solid var(--_border);
    background: var(--_surface);
  }

  .viewer-heading {
    min-width: 0;
  }

  [part~='viewer-title'] {
    margin: 0;
    font-size: 1.1em;
    overflow-wrap: anywhere;
  }

  [part~='viewer-meta'] {
    color: var(--_muted);
    font-size: 0.9em;
  }

  .viewer-actions,
  .viewer-version-actions,
  [part~='zoom'] {
    display: flex;
    flex-wrap: wrap;
    align-items: center;
    gap: 0.4em;
  }

  [part~='restore-status'] {
    display: flex;
    align-items: center;
    gap: 0.75em;
    padding: 0.5em var(--_space);
    border-bottom: 1px solid var(--_border);
  }

  .viewer-body {
    flex: 1;
    min-height: 0;
    display: flex;
  }

  [part~='viewer-versions'] {
    flex: 0 0 auto;
    width: min(22rem, 40%);
    overflow: auto;
    padding: var(--_space);
    border-inline-end: 1px solid var(--_border);
  }

  [part~='viewer-versions'] h3 {
    margin: 0 0 0.5em;
    font-size: 1em;
  }

  [part~='viewer-version'] {
    display: grid;
    gap: 0.25em;
    padding: 0.5em 0;
    border-top: 1px solid var(--_border);
    color: var(--_muted);
  }

  [part~='viewer-version'][aria-current='true'] {
    color: var(--_color);
    font-weight: 600;
  }

  [part~='viewer'] [part~='preview'] {
    flex: 1;
    min-width: 0;
    overflow: auto;
    margin: 0;
    max-height: none;
    border: 0;
    border-radius: 0;
    background: var(--_background);
  }

  [part~='preview'] > p,
  [part~='preview'] > [part~='source-toggle'],
  [part~='zoom'] {
    margin: 0.5em var(--_space);
  }

  [part~='preview'] table {
    border-collapse: collapse;
    font-size: 0.9em;
    font-variant-numeric: tabular-nums;
  }

  [part~='preview'] th,
  [part~='preview'] td {
    padding: 0.25em 0.6em;
    border-bottom: 1px solid var(--_border);
    text-align: start;
    white-space: nowrap;
  }

  [part~='preview'] thead th {
    position: sticky;
    top: 0;
    background: var(--_surface);
    padding: 0;
  }

  [part~='preview'] th button {
    width: 100%;
    padding: 0.35em 0.6em;
    border: 0;
    border-radius: 0;
    background: none;
    font: inherit;
    font-weight: 600;
    text-align: inherit;
  }

  [part~='preview'] .num {
    text-align: end;
  }

  [part~='preview'] img.fit {
    display: block;
    max-width: 100%;
    max-height: calc(100% - 3em);
    margin: auto;
    cursor: zoom-in;
  }

  [part~='preview'] img.zoomed {
    display: block;
    max-width: none;
    cursor: zoom-out;
  }

  [part~='preview'] iframe {
    display: block;
    width: 100%;
    height: 100%;
    min-height: 20rem;
    border: 0;
    background: var(--_background);
  }

  [part~='preview'] pre {
    margin: 0;
    padding: 0.5em var(--_space);
    white-space: pre-wrap;
    font-size: 0.85em;
  }

  .patch span {
    display: block;
  }

  [part~='json-tree'],
  [part~='json-tree'] ul {
    margin: 0;
    padding-inline-start: 1.25em;
    font-family: ui-monospace, monospace;
    font-size: 0.85em;
  }

  [part~='json-tree'] {
    padding: 0.5em var(--_space);
  }

  .key,
  .json-count {
    color: var(--_muted);
  }

  [role='tablist'] {
    display: flex;
    gap: 0.25em;
    padding: 0.25em var(--_space);
  }

  [aria-selected='true'],
  [aria-pressed='true'] {
    font-weight: 600;
  }

  .add {
    background: var(--_add);
  }

  .del {
    background: var(--_del);
  }

  .hunk {
    background: var(--_hunk);
  }

  @media (max-width: 40rem) {
    .viewer-body {
      flex-direction: column;
    }

    [part~='viewer-versions'] {
      width: auto;
      max-height: 35%;
      border-inline-end: 0;
      border-bottom: 1px solid var(--_border);
    }
  }
`;
