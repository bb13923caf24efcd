// axe-core in the test page: loaded once from node_modules, run on one element (shadow roots included).
import type { AxeResults } from 'axe-core';
import { assert } from './widget.ts';

declare global {
  interface Window {
    axe?: { run: (context: Element) => Promise<AxeResults> };
  }
}

async function loadAxe(): Promise<NonNullable<Window['axe']>> {
  if (!window.axe) {
    const script = document.createElement('script');
    script.src = '/node_modules/axe-core/axe.min.js';
    const loaded = new Promise((resolve, reject) => {
      script.onload = resolve;
      script.onerror = reject;
    });
    document.head.append(script);
    await loaded;
  }
  return window.axe!;
}

/** No violations, and rules did run. */
export async function assertAccessible(el: Element): Promise<void> {
  // Mid-animation text is faded; axe would measure the fade.
  for (const animation of (el.shadowRoot ?? document).getAnimations()) animation.finish();
  const results = await (await loadAxe()).run(el);
  const problems = results.violations.map(
    (v) =>
      `${v.id} (${v.impact}): ${v.help}\n  ${v.nodes.map((n) => `${n.target.join(' ')} ${JSON.stringify(n.any[0]?.data ?? '')}`).join('\n  ')}`,
  );
  assert(problems.length === 0, `axe found:\n${problems.join('\n')}`);
  assert(results.passes.length > 0, 'axe ran rules');
}
