import { css } from 'lit';

/**
 * Public knobs are `--generated-files-*`; each is read once into a private
 * `--_*` property with a light and a dark fallback, so a value set on the
 * element or any ancestor wins and an unset one follows the color scheme.
 */
export const styles = css`
  :host {
    --_font: var(--generated-files-font, system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif);
    --_font-size: var(--generated-files-font-size, 0.875rem);
    --_color: var(--generated-files-color, #1f2328);
    --_muted: var(--generated-files-muted-color, #59636e);
    --_background: var(--generated-files-background, #fff);
    --_surface: var(--generated-files-surface, #f6f8fa);
    --_border: var(--generated-files-border-color, #d1d9e0);
    --_accent: var(--generated-files-accent, #0969da);
    --_accent-text: var(--generated-files-accent-text, #fff);
    --_danger: var(--generated-files-danger, #d1242f);
    --_radius: var(--generated-files-radius, 8px);
    --_space: var(--generated-files-spacing, 0.75rem);
    --_focus: var(--generated-files-focus-ring, 2px solid var(--_accent));

    display: block;
    box-sizing: border-box;
    font-family: var(--_font);
    font-size: var(--_font-size);
    line-height: 1.45;
    color: var(--_color);
    background: var(--_background);
    border: 1px solid var(--_border);
    border-radius: var(--_radius);
    color-scheme: light dark;
    container: generated-files / inline-size;
  }

  @media (prefers-color-scheme: dark) {
    :host {
      --_color: var(--generated-files-color, #f0f6fc);
      --_muted: var(--generated-files-muted-color, #9198a1);
      --_background: var(--generated-files-background, #0d1117);
      --_surface: var(--generated-files-surface, #151b23);
      --_border: var(--generated-files-border-color, #3d444d);
      --_accent: var(--generated-files-accent, #4493f8);
      --_accent-text: var(--generated-files-accent-text, #0d1117);
      --_danger: var(--generated-files-danger, #f85149);
    }
  }

  :host([hidden]) {
    display: none;
  }

  *,
  *::before,
  *::after {
    box-sizing: inherit;
  }

  [part~='header'] {
    display: flex;
    flex-wrap: wrap;
    align-items: center;
    gap: calc(var(--_space) * 0.75);
    padding: calc(var(--_space) * 0.75) var(--_space);
    border-bottom: 1px solid var(--_border);
  }

  [part~='heading'] {
    margin: 0;
    font-size: 1em;
    font-weight: 600;
  }

  [part~='count'] {
    min-width: 1.5em;
    padding: 0 0.5em;
    border-radius: 999px;
    background: var(--_surface);
    border: 1px solid var(--_border);
    color: var(--_muted);
    font-size: 0.85em;
    text-align: center;
  }

  button {
    font: inherit;
    color: inherit;
    cursor: pointer;
    display: inline-flex;
    align-items: center;
    gap: 0.35em;
    padding: 0.25em 0.75em;
    border: 1px solid var(--_border);
    border-radius: calc(var(--_radius) * 0.75);
    background: var(--_surface);
    white-space: nowrap;
  }

  button:hover {
    border-color: var(--_accent);
  }

  button:focus-visible,
  summary:focus-visible {
    outline: var(--_focus);
    outline-offset: 2px;
  }

  button:disabled {
    cursor: progress;
    opacity: 0.6;
  }

  summary {
    cursor: pointer;
    color: var(--_muted);
    width: fit-content;
    border-radius: 4px;
  }

  [part~='download-all-button'] {
    margin-inline-start: auto;
  }

  [part~='download-all-button'] {
    background: var(--_accent);
    border-color: var(--_accent);
    color: var(--_accent-text);
  }

  [part~='message'],
  [part~='notice'] {
    margin: 0;
    padding: calc(var(--_space) * 1.5) var(--_space);
    color: var(--_muted);
    text-align: center;
  }

  [part~='notice'],
  [part~='uploads-error'],
  [part~='preview-error'],
  [part~='error'] {
    color: var(--_danger);
    display: flex;
    flex-wrap: wrap;
    gap: 0.5em;
    align-items: center;
    justify-content: center;
  }

  ul {
    list-style: none;
    margin: 0;
    padding: 0;
  }

  /* The viewer's loading line (or its failed load) until the viewer's code is in. */
  [part~='preview'] {
    margin: 0.5em var(--_space);
    border: 1px solid var(--_border);
    border-radius: calc(var(--_radius) * 0.75);
    background: var(--_surface);
  }

  [part~='preview'] p {
    margin: 0;
    padding: 0.5em;
    color: var(--_muted);
  }

  [part~='skipped'] {
    margin: 0;
    padding: calc(var(--_space) * 0.5) var(--_space);
    border-top: 1px solid var(--_border);
    color: var(--_muted);
    font-size: 0.9em;
  }

  [part~='live-status'] {
    display: inline-flex;
    align-items: center;
    gap: 0.35em;
    padding: 0 0.5em;
    border-radius: 999px;
    color: var(--_muted);
    font-size: 0.85em;
    white-space: nowrap;
  }

  [part~='live-status']::before {
    content: '';
    width: 0.5em;
    height: 0.5em;
    border-radius: 50%;
    background: currentColor;
  }

  [data-state='open']::before {
    background: #1a7f37;
  }

  [data-state='offline'] {
    color: var(--_danger);
  }

  [part~='error-details'] {
    flex-basis: 100%;
    color: var(--_muted);
    font-size: 0.9em;
    overflow-wrap: anywhere;
  }

  [part~='status'] {
    padding: 0 var(--_space);
    color: var(--_muted);
    font-size: 0.85em;
  }

  [part~='status']:not(:empty) {
    padding-block: calc(var(--_space) * 0.5);
    border-top: 1px solid var(--_border);
  }

  /* A name cut in the middle (format.ts's nameParts): the head gives way, the extension stays. */
  .mid {
    display: flex;
    min-width: 0;
    white-space: nowrap;
  }

  .head {
    overflow: hidden;
    text-overflow: ellipsis;
  }

  .tail {
    flex: none;
  }

  .visually-hidden {
    position: absolute;
    width: 1px;
    height: 1px;
    margin: -1px;
    overflow: hidden;
    clip-path: inset(50%);
    white-space: nowrap;
  }

  /* A phone or a sidebar: touch-sized targets. */
  @container generated-files (max-width: 480px) {
    button {
      min-height: 44px;
      min-width: 44px;
      justify-content: center;
    }
  }
`;
