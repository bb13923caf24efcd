/**
 * Answers the browser's native file chooser, for the keyboard-only upload test: the test arms
 * it, opens the picker with a key press, then has it pick a file (written to a temp folder).
 *   executeServerCommand('file-chooser-arm')                         -> resolves once armed
 *   executeServerCommand('file-chooser-accept', { name, content })   -> resolves once picked
 * Runs in the test runner, where puppeteer's page for the session is at hand.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ChromeLauncher } from '@web/test-runner-chrome';
import type { FileChooser } from 'puppeteer-core';

interface CommandContext {
  command: string;
  payload: unknown;
  session: { id: string; browser: unknown };
}

export function fileChooserPlugin() {
  const armed = new Map<string, Promise<FileChooser>>();
  const folders: string[] = [];
  return {
    name: 'file-chooser',
    async executeCommand({ command, payload, session }: CommandContext): Promise<unknown> {
      if (command !== 'file-chooser-arm' && command !== 'file-chooser-accept') return undefined;
      const page = (session.browser as ChromeLauncher).getPage(session.id);
      if (command === 'file-chooser-arm') {
        const chooser = page.waitForFileChooser({ timeout: 5000 });
        chooser.catch(() => {});
        armed.set(session.id, chooser);
        // One session runs CDP commands in order: once this round trip is back, the interception
        // puppeteer asked for before it is on.
        await page.evaluate(() => 0);
        return true;
      }
      const { name, content } = payload as { name: string; content: string };
      const chooser = await armed.get(session.id);
      armed.delete(session.id);
      if (!chooser) throw new Error('file-chooser-accept before file-chooser-arm');
      const folder = await mkdtemp(path.join(tmpdir(), 'file-chooser-'));
      folders.push(folder);
      const file = path.join(folder, name);
      await writeFile(file, content);
      await chooser.accept([file]);
      return true;
    },
    async serverStop() {
      await Promise.all(folders.map((folder) => rm(folder, { recursive: true, force: true })));
    },
  };
}
