import { css } from 'lit';

/** The format icon (format-icons.ts): one outline, coloured by kind. In the list and in answer chips. */
export const iconStyles = css`
  .icon {
    display: block;
    width: 2rem;
    height: 2rem;
    --_kind: var(--_muted);
  }

  .icon path {
    fill: none;
    stroke: var(--_kind);
    stroke-width: 1.5;
  }

  .icon__page {
    fill: var(--_background);
  }

  .icon__band {
    fill: var(--_kind);
  }

  .icon__label {
    fill: #fff;
    font: 700 6.5px/1 var(--_font);
    letter-spacing: 0.02em;
  }

  .icon--spreadsheet,
  .icon--csv {
    --_kind: #1a7f37;
  }
  .icon--document {
    --_kind: #0550ae;
  }
  .icon--pdf {
    --_kind: #cf222e;
  }
  .icon--image {
    --_kind: #8250df;
  }
  .icon--slides {
    --_kind: #bc4c00;
  }
  .icon--archive {
    --_kind: #9a6700;
  }
  .icon--code,
  .icon--data {
    --_kind: #1b7c83;
  }
`;
