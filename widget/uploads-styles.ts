import { css } from 'lit';

/** The upload area's styles, loaded with the upload code: pages without uploads never get them. */
export const uploadsStyles = css`
  [part~='uploads'] {
    display: flex;
    flex-wrap: wrap;
    gap: 0.5rem;
    align-items: center;
    padding: 0.5rem var(--_space);
    border-bottom: 1px dashed var(--_border);
  }
  [part~='uploads'] ul {
    flex-basis: 100%;
  }
  [part~='upload'] {
    display: flex;
    gap: 0.5rem;
    align-items: center;
  }
  [part~='upload-button'] {
    cursor: pointer;
    padding: 0.25rem 0.6rem;
    border: 1px solid var(--_accent);
    border-radius: var(--_radius);
  }
  /* The native input inside is visually hidden: its label shows where the focus is. */
  [part~='upload-button']:focus-within {
    outline: var(--_focus);
    outline-offset: 2px;
  }
  [part~='upload'] .error {
    color: var(--_danger);
  }
  .dragging {
    outline: 2px dashed var(--_accent);
  }
`;
