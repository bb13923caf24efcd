import { css } from 'lit';

/**
 * The list's styles: rows, runs, the row menu, versions, icons and thumbnails. They
 * load with the list's code (file-list-view.ts) and join the element's sheet. Narrow layouts
 * (a phone, a sidebar) are container queries on the element's own width, not the viewport's.
 */
export const fileListStyles = css`
  [part~='filter'] {
    padding: calc(var(--_space) * 0.5) var(--_space);
    border-bottom: 1px solid var(--_border);
  }

  [part~='filter-input'] {
    width: 100%;
    font: inherit;
    color: inherit;
    background: var(--_background);
    padding: 0.35em 0.6em;
    border: 1px solid var(--_border);
    border-radius: calc(var(--_radius) * 0.75);
  }

  [part~='filter-input']:focus-visible {
    outline: var(--_focus);
    outline-offset: 1px;
  }

  [part~='item'],
  [part~='run'] {
    padding: calc(var(--_space) * 0.6) var(--_space);
    border-top: 1px solid var(--_border);
  }

  [part~='list'] > :first-child {
    border-top: 0;
  }

  [part~='run'] {
    padding-block: calc(var(--_space) * 0.4);
    background: var(--_surface);
  }

  [part~='run-toggle'] {
    width: 100%;
    border: 0;
    background: none;
    padding: 0.2em 0;
    font-weight: 600;
  }

  [part~='run-meta'] {
    margin-inline-start: auto;
    color: var(--_muted);
    font-weight: 400;
    font-size: 0.9em;
  }

  .chevron::before {
    content: '▸';
    display: inline-block;
    color: var(--_muted);
  }

  [aria-expanded='true'] > .chevron::before {
    transform: rotate(90deg);
  }

  .row {
    position: relative;
    display: grid;
    grid-template-columns: auto minmax(0, 1fr) auto;
    align-items: center;
    column-gap: var(--_space);
  }

  .row:hover {
    background: color-mix(in srgb, var(--_surface) 70%, transparent);
  }

  .info {
    min-width: 0;
  }

  .title {
    display: flex;
    align-items: baseline;
    min-width: 0;
  }

  /* The name opens the file; its ::after stretches over the row, so a click anywhere on it does too. */
  .open {
    display: flex;
    min-width: 0;
    max-width: 100%;
    padding: 0;
    border: 0;
    background: none;
    font-weight: 600;
  }

  .open::after {
    content: '';
    position: absolute;
    inset: 0;
  }

  .actions {
    position: relative;
    z-index: 1;
    display: flex;
    gap: 0.4em;
  }

  [part~='download-button'] {
    background: var(--_accent);
    border-color: var(--_accent);
    color: var(--_accent-text);
  }

  [part~='menu'] {
    position: absolute;
    inset-inline-end: 0;
    top: calc(100% + 4px);
    display: flex;
    flex-direction: column;
    min-width: 10em;
    padding: 0.3em;
    gap: 0.2em;
    background: var(--_background);
    border: 1px solid var(--_border);
    border-radius: calc(var(--_radius) * 0.75);
    box-shadow: 0 4px 12px rgb(0 0 0 / 0.15);
  }

  [part~='menu'][hidden] {
    display: none;
  }

  [part~='menu'] button {
    border: 0;
    background: none;
  }

  [part~='menu'] button:hover {
    background: var(--_surface);
  }

  [part~='folder'],
  [part~='meta'] {
    display: block;
    overflow: hidden;
    text-overflow: ellipsis;
    white-space: nowrap;
    color: var(--_muted);
  }

  [part~='meta'] {
    font-size: 0.9em;
  }

  [part~='version-badge'] {
    flex: none;
    margin-inline-start: 0.4em;
    padding: 0 0.45em;
    border-radius: 999px;
    border: 1px solid var(--_accent);
    color: var(--_accent);
    font-size: 0.8em;
    font-weight: 600;
    white-space: nowrap;
  }

  [part~='versions'] {
    margin: 0.5em 0 0 calc(2rem + var(--_space));
  }

  /* The versions of one file stay a part of its row: a short list that scrolls, never a screen. */
  [part~='version-list'] {
    margin-top: 0.25em;
    max-height: 16rem;
    overflow-y: auto;
  }

  [part~='version'] {
    display: flex;
    flex-wrap: wrap;
    align-items: center;
    gap: 0.4em;
    padding: 0.25em 0;
    color: var(--_muted);
  }

  .version-meta {
    flex: 1 1 10em;
    white-space: nowrap;
    overflow: hidden;
    text-overflow: ellipsis;
  }

  [part~='version'] button {
    color: var(--_color);
  }

  [part~='uploaded-heading'] {
    margin: 0;
    padding: calc(var(--_space) * 0.5) var(--_space);
    border-top: 1px solid var(--_border);
    font-size: 0.9em;
    color: var(--_muted);
  }

  [part~='icon'] {
    display: block;
    width: 2rem;
    height: 2rem;
  }

  [part~='thumbnail'] {
    display: block;
    width: 2rem;
    height: 2rem;
    object-fit: cover;
    border-radius: 4px;
    border: 1px solid var(--_border);
  }

  @keyframes appear {
    from {
      opacity: 0;
      transform: translateY(-2px);
    }
  }

  @media (prefers-reduced-motion: no-preference) {
    .fresh {
      animation: appear 160ms ease-out;
    }
  }

  /* A phone or a sidebar: touch-sized targets, the actions under the name. */
  @container generated-files (max-width: 480px) {
    .row {
      grid-template-columns: auto minmax(0, 1fr);
      row-gap: 0.4em;
    }

    .actions {
      grid-column: 2;
    }

    /* Buttons are 44 px here already (styles.ts). */
    [part~='filter-input'] {
      min-height: 44px;
    }

    /* Tall enough to tap, and still a list item: the disclosure triangle stays. */
    summary {
      line-height: 44px;
    }

    [part~='versions'] {
      margin-inline-start: 0;
    }
  }
`;
