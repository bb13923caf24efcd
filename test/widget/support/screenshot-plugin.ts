/**
 * Saves a screenshot of the test page, for a person to look at beside the test's own checks
 * (overflow, names broken mid-word, touch targets), which are what pass or fail it.
 *   executeServerCommand('screenshot', { name })  -> { path } of the PNG written
 * Into $WIDGET_SCREENSHOTS, else a folder under the system's temp folder (printed once).
 */
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ChromeLauncher } from '@web/test-runner-chrome';

interface CommandContext {
  command: string;
  payload: unknown;
  session: { id: string; browser: unknown };
}

export function screenshotPlugin() {
  const folder = process.env.WIDGET_SCREENSHOTS ?? path.join(tmpdir(), 'generated-files-screenshots');
  let told = false;
  return {
    name: 'screenshot',
    async executeCommand({ command, payload, session }: CommandContext): Promise<unknown> {
      if (command !== 'screenshot') return undefined;
      const { name } = payload as { name: string };
      if (!/^[\w-]+$/.test(name)) throw new Error(`a screenshot name is letters, digits, - and _: ${name}`);
      await mkdir(folder, { recursive: true });
      const file = path.join(folder, `${name}.png`);
      const page = (session.browser as ChromeLauncher).getPage(session.id);
      await page.screenshot({ path: file as `${string}.png`, fullPage: true });
      if (!told) console.log(`widget screenshots: ${folder}`);
      told = true;
      return { path: file };
    },
  };
}
