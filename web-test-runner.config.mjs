// Browser tests for <generated-files>: real Chromium (the Debian package; no
// browser is ever downloaded), the production bundle, and a fixture files API.
import { esbuildPlugin } from '@web/dev-server-esbuild';
import { chromeLauncher } from '@web/test-runner-chrome';
import { filesApiFixtures } from './test/widget/support/files-api-fixtures.mjs';

export default {
  files: ['test/widget/*.test.ts'],
  nodeResolve: true,
  plugins: [esbuildPlugin({ ts: true, target: 'es2022' })],
  middleware: [filesApiFixtures()],
  browsers: [
    chromeLauncher({
      // puppeteer-core launches with a fresh temporary profile each time and removes it after.
      launchOptions: {
        executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
        headless: true,
        args: [
          '--no-sandbox',
          '--disable-gpu',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
          '--no-first-run',
        ],
      },
    }),
  ],
  // One page at a time: a background page gets throttled timers and no focus.
  concurrency: 1,
  testFramework: { config: { timeout: 10000 } },
  testsFinishTimeout: 60000,
};
