/**
 * Layout checks a screenshot would show a person, measured instead: nothing sticks out of the
 * element or scrolls the page sideways, names and badges stay on one line (never a word broken
 * mid-name) with the extension in view, and every control is a touch target of 44 px or more.
 */
import { parts } from './widget.ts';

/** How many lines an element's text takes: the distinct tops of its text's boxes. */
export function lineCount(node: Element): number {
  const range = document.createRange();
  range.selectNodeContents(node);
  const tops: number[] = [];
  for (const rect of range.getClientRects()) {
    if (rect.width && !tops.some((top) => Math.abs(top - rect.top) < 3)) tops.push(rect.top);
  }
  return tops.length;
}

const describe = (node: Element) =>
  `${node.localName}${node.getAttribute('part') ? `[part=${node.getAttribute('part')}]` : ''}${node.className && typeof node.className === 'string' ? `.${node.className.split(' ')[0]}` : ''} "${(node.textContent ?? '').trim().slice(0, 40)}"`;

const shown = (node: Element) =>
  node.checkVisibility({ checkVisibilityCSS: true } as CheckVisibilityOptions) && !node.closest('.visually-hidden');

/** What sticks out of the element, or makes the page scroll sideways. */
export function overflowProblems(el: HTMLElement): string[] {
  const problems: string[] = [];
  const root = document.scrollingElement ?? document.documentElement;
  if (root.scrollWidth > root.clientWidth)
    problems.push(`the page scrolls sideways (${root.scrollWidth} > ${root.clientWidth})`);
  const host = el.getBoundingClientRect();
  if (host.right > document.documentElement.clientWidth + 0.5) problems.push('the element is wider than the page');
  for (const node of el.shadowRoot!.querySelectorAll('*')) {
    if (!shown(node)) continue;
    const r = node.getBoundingClientRect();
    if (!r.width || !r.height) continue;
    if (r.left < host.left - 0.5 || r.right > host.right + 0.5)
      problems.push(
        `${describe(node)} sticks out: ${r.left.toFixed(1)}–${r.right.toFixed(1)} of ${host.left}–${host.right}`,
      );
  }
  for (const node of parts(el, 'base')) {
    if (node.scrollWidth > node.clientWidth)
      problems.push(`the element scrolls sideways (${node.scrollWidth} > ${node.clientWidth})`);
  }
  return problems;
}

/** Names (in the list and in upload chips), folders, sizes and badges that take more than one line, or hide their extension. */
export function brokenNameProblems(el: HTMLElement): string[] {
  const problems: string[] = [];
  const oneLine = [
    ...parts(el, 'name'),
    ...parts(el, 'folder'),
    ...parts(el, 'meta'),
    ...parts(el, 'version-badge'),
    ...parts(el, 'count'),
    ...parts(el, 'live-status'),
    ...el.shadowRoot!.querySelectorAll('.chip-name'),
  ];
  for (const node of oneLine) {
    if (!shown(node)) continue;
    const lines = lineCount(node);
    if (lines !== 1) problems.push(`${describe(node)} takes ${lines} lines`);
  }
  for (const name of [...parts(el, 'name'), ...el.shadowRoot!.querySelectorAll<HTMLElement>('.chip-name')]) {
    if (shown(name) && !extensionInView(name)) problems.push(`${describe(name)}: its extension is cut off`);
  }
  return problems;
}

/**
 * Whether the end of a name as drawn (its extension, from its last dot; its last character when
 * it has none) lies inside every box that clips it, from the text up to the name itself. Measured
 * on the laid-out characters, not on the text: a name cut at its end with an ellipsis still holds
 * its extension in `textContent`, but the extension's characters are laid out past the clip.
 */
export function extensionInView(name: Element): boolean {
  const full = (name.textContent ?? '').trim();
  const dot = full.lastIndexOf('.');
  const length = dot > 0 ? full.length - dot : 1;
  const texts: Text[] = [];
  const walker = document.createTreeWalker(name, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode())
    if ((node as Text).data.trim()) texts.push(node as Text);
  const last = texts.at(-1);
  if (!last) return true;
  const end = last.data.trimEnd().length;
  const range = document.createRange();
  range.setStart(last, Math.max(0, end - length));
  range.setEnd(last, end);
  const clips: DOMRect[] = [name.getBoundingClientRect()];
  for (let box = last.parentElement; box && box !== name; box = box.parentElement) {
    const { overflowX } = getComputedStyle(box);
    if (overflowX !== 'visible') clips.push(box.getBoundingClientRect());
  }
  return [...range.getClientRects()].every((r) =>
    clips.every((clip) => r.left >= clip.left - 0.5 && r.right <= clip.right + 0.5),
  );
}

/** Controls smaller than a fingertip (44 × 44 CSS px). The name's button opens the file from the whole row, which is its target. */
export function touchTargetProblems(el: HTMLElement): string[] {
  const problems: string[] = [];
  const targets = el.shadowRoot!.querySelectorAll('button, summary, input, [part~="upload-button"]');
  for (const node of targets) {
    if (!shown(node) || node.classList.contains('visually-hidden')) continue;
    const target = node.classList.contains('open') ? node.closest('.row')! : node;
    const r = target.getBoundingClientRect();
    if (r.height < 44 || (r.width < 44 && !node.classList.contains('open')))
      problems.push(`${describe(node)} is ${r.width.toFixed(0)} × ${r.height.toFixed(0)} px`);
  }
  return problems;
}
