import { html, nothing, type TemplateResult } from 'lit';

/** Children listed per object or array before "… N more" (the sidecar already cut the file). */
const MAX_CHILDREN = 500;

/**
 * A JSON value as a tree of disclosures: objects and arrays fold, the top two levels open. A
 * node's children are rendered only while it is open, so a large file costs what is shown. Keys
 * and values are set as text. Paths in `open` say which nodes the user opened or closed.
 */
export function renderJsonTree(
  name: string,
  text: string,
  open: ReadonlyMap<string, boolean>,
  setOpen: (open: Map<string, boolean>) => void,
): TemplateResult | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  const toggle = (path: string, event: Event) => {
    const now = (event.target as HTMLDetailsElement).open;
    if (isOpen(path) !== now) setOpen(new Map(open).set(path, now));
  };
  const isOpen = (path: string) => open.get(path) ?? path.split('/').length <= 2;
  const key = (label: string | undefined) =>
    label === undefined ? nothing : html`<span class="key">${label}</span>: `;
  const node = (item: unknown, label: string | undefined, path: string): TemplateResult => {
    if (item === null || typeof item !== 'object')
      return html`<li>${key(label)}<span class="json-${item === null ? 'null' : typeof item}">${JSON.stringify(item)}</span></li>`;
    const entries = Array.isArray(item) ? item.map((v, i) => [String(i), v] as const) : Object.entries(item);
    const shown = isOpen(path);
    return html`<li>
      <details ?open=${shown} @toggle=${(e: Event) => toggle(path, e)}>
        <summary>${key(label)}<span class="json-count">${Array.isArray(item) ? `[${entries.length}]` : `{${entries.length}}`}</span></summary>
        ${
          shown
            ? html`<ul>
              ${entries.slice(0, MAX_CHILDREN).map(([k, v]) => node(v, k, `${path}/${k}`))}
              ${entries.length > MAX_CHILDREN ? html`<li>… ${entries.length - MAX_CHILDREN} more</li>` : nothing}
            </ul>`
            : nothing
        }
      </details>
    </li>`;
  };
  return html`<ul part="json-tree" aria-label="JSON of ${name}">${node(value, undefined, '')}</ul>`;
}
