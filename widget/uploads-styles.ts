import { css } from 'lit';

/** The upload area's styles, loaded with the upload code: pages without uploads never get them. */
export const uploadsStyles = css`
  [part~='uploads'] {
    display: flex;
    flex-wrap: wrap;
    gap: 0.5rem;
    align-items: center;
    padding: 0.5rem var(--_space);
    border-bottom: 1px solid var(--_border);
  }
  [part~='upload-button'] {
    display: inline-flex;
    align-items: center;
    gap: 0.35em;
    cursor: pointer;
    padding: 0.25rem 0.6rem;
    border: 1px solid var(--_border);
    border-radius: 999px;
    background: var(--_surface);
  }
  [part~='upload-button']:hover {
    border-color: var(--_accent);
  }
  /* The native input inside is visually hidden: its label shows where the focus is. */
  [part~='upload-button']:focus-within {
    outline: var(--_focus);
    outline-offset: 2px;
  }
  [part~='upload-hint'] {
    color: var(--_muted);
    font-size: 0.9em;
  }
  [part~='upload-advanced'] {
    margin-inline-start: auto;
  }
  [part~='upload-advanced'][open] {
    flex-basis: 100%;
  }
  [part~='upload-advanced'] label {
    display: flex;
    flex-wrap: wrap;
    gap: 0.5em;
    align-items: center;
    padding-top: 0.4em;
  }
  [part~='upload-folder'] {
    font: inherit;
    color: inherit;
    background: var(--_background);
    border: 1px solid var(--_border);
    border-radius: calc(var(--_radius) * 0.75);
    padding: 0.2em 0.5em;
    min-width: 0;
    flex: 1 1 8em;
  }
  [part~='upload-chips'] {
    flex-basis: 100%;
    min-width: 0;
    display: flex;
    flex-wrap: wrap;
    gap: 0.4rem;
  }
  /* A chip: name, progress or outcome, its buttons; as wide as its content, never wider than the element. */
  [part~='upload'] {
    display: flex;
    flex-wrap: wrap;
    gap: 0.4rem;
    align-items: center;
    min-width: 0;
    max-width: 100%;
    padding: 0.2rem 0.25rem 0.2rem 0.6rem;
    border: 1px solid var(--_border);
    border-radius: var(--_radius);
    background: var(--_surface);
  }
  .chip-name {
    display: flex;
    min-width: 0;
    overflow: hidden;
    max-width: 16em;
    font-weight: 600;
  }
  [part~='upload-progress'] {
    width: 5em;
    height: 0.4em;
    accent-color: var(--_accent);
  }
  .chip-size,
  .chip-message {
    color: var(--_muted);
    font-size: 0.85em;
  }
  [part~='upload-cancel-button'] {
    padding: 0 0.5em;
    border: 0;
    background: none;
    font-size: 1.1em;
  }
  [part~='upload'] .error {
    color: var(--_danger);
  }
  .dragging {
    outline: 2px dashed var(--_accent);
    outline-offset: -2px;
  }
  @container generated-files (max-width: 480px) {
    [part~='upload-button'],
    [part~='upload-advanced'] summary,
    [part~='upload-folder'] {
      min-height: 44px;
    }
    [part~='upload-advanced'] summary {
      line-height: 44px;
    }
    .chip-name {
      max-width: 100%;
    }
  }
`;
