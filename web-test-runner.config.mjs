// Browser tests for <generated-files>: real Chromium (the Debian package; no
// browser is ever downloaded), the production bundle, the sidecar's real files
// API on its own port, and a scriptable stand-in (for faults the real one cannot
// be made to produce on cue) whose summaries come from the sidecar's serializer, and copies of
// the bundle whose lazy chunks fail on cue.
// Run under tsx (`npm run test:widget`), so both load the sidecar's TypeScript.
import { esbuildPlugin } from '@web/dev-server-esbuild';
import { chromeLauncher } from '@web/test-runner-chrome';
import { filesApiFixtures } from './test/widget/support/files-api-fixtures.mjs';
import { realFilesApi } from './test/widget/support/real-files-api.ts';
import { fileChooserPlugin } from './test/widget/support/file-chooser-plugin.ts';
import { chunkFaults } from './test/widget/support/chunk-faults.ts';
import { screenshotPlugin } from './test/widget/support/screenshot-plugin.ts';

const realApi = realFilesApi();

export default {
  files: ['test/widget/*.test.ts'],
  nodeResolve: true,
  plugins: [esbuildPlugin({ ts: true, target: 'es2022' }), realApi.plugin, fileChooserPlugin(), screenshotPlugin()],
  middleware: [chunkFaults(), filesApiFixtures(), realApi.middleware],
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
  // A bound on a stuck file only; a file with real renders takes longer on a loaded machine.
  testsFinishTimeout: 180000,
};
