import { css } from 'lit';

/**
 * What a shown preview or diff needs (tables, sheet tabs, frames, text, changed rows), loaded with
 * the preview code: pages where nobody opens a preview never get them. The panel's box and its
 * loading line are in styles.ts, since they show before this loads.
 */
export const previewStyles = css`
  [part~='preview'] table {
    border-collapse: collapse;
    font-size: 0.9em;
    font-variant-numeric: tabular-nums;
  }

  [part~='preview'] th,
  [part~='preview'] td {
    padding: 0.2em 0.6em;
    border-bottom: 1px solid var(--_border);
    text-align: start;
    white-space: nowrap;
  }

  [part~='preview'] img {
    display: block;
    max-width: 100%;
    height: auto;
  }

  [part~='preview'] iframe {
    display: block;
    width: 100%;
    height: 20rem;
    border: 0;
  }

  [part~='preview'] pre {
    margin: 0;
    padding: 0.5em;
    white-space: pre-wrap;
    font-size: 0.85em;
  }
  [role='tablist'] {
    display: flex;
    gap: 0.25em;
    padding: 0.25em;
  }
  [aria-selected='true'] {
    font-weight: 600;
  }
  .add {
    background: #e6f4ea;
  }
  .del {
    background: #fce8e6;
  }
`;
