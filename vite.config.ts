import { defineConfig, type Plugin } from 'vite';
import { squeezeLitTemplates } from './scripts/squeeze-lit-templates.ts';
import { FILES_APP_SCRIPT } from './contract/mcp-app.ts';

/**
 * Lit's css`` stays a string bundlers do not touch; squeeze its whitespace and
 * comments. Only spaces next to `{};,>`, after `:` and around calc's `*` and `/`
 * go, so descendant selectors and quoted names keep theirs.
 */
function minifyLitCss(): Plugin {
  return {
    name: 'minify-lit-css',
    transform(code, id) {
      if (!/\/widget\/([\w-]+-)?styles\.ts$/.test(id)) return null;
      const minified = code.replace(/css`([^`]*)`/g, (_, text: string) => {
        const min = text
          .replace(/\/\*[\s\S]*?\*\//g, '')
          .replace(/\s+/g, ' ')
          .replace(/\s*([{};,>])\s*/g, '$1')
          .replace(/:\s+/g, ':')
          .replace(/;}/g, '}')
          // [part~='list'] -> [part~=list]: an identifier needs no quotes.
          .replace(/~='([\w-]+)'/g, '~=$1')
          // 0.75 -> .75, and calc's * and / need no spaces around them.
          .replace(/([\s:(,])0\./g, '$1.')
          .replace(/ ([*/]) /g, '$1')
          .trim();
        return `css\`${min}\``;
      });
      // The stylesheet is one string; mapping into it is not worth a sourcemap.
      return { code: minified, map: null };
    },
  };
}

/** The indentation of html`` and svg`` templates: bytes every page downloads and never renders. */
function squeezeLitHtml(): Plugin {
  return {
    name: 'squeeze-lit-html',
    transform(code, id) {
      if (!/\/widget\/[\w-]+\.ts$/.test(id)) return null;
      return { code: squeezeLitTemplates(code), map: null };
    },
  };
}

/**
 * `--mode mcp-app`: the MCP App's script (widget/mcp-app.ts), one file next to the bundle, built
 * on its own so it shares nothing with the bundle and every other page loads nothing more.
 */
const mcpAppBuild = {
  publicDir: false as const,
  build: {
    target: 'es2022',
    outDir: 'dist/widget',
    emptyOutDir: false,
    minify: true,
    sourcemap: true,
    lib: { entry: 'widget/mcp-app.ts', formats: ['es' as const], fileName: () => FILES_APP_SCRIPT },
    rolldownOptions: { output: { minify: true, comments: false } },
  },
};

/**
 * The <generated-files> element, two ways:
 * - default: one self-contained, minified ES module with Lit inside, for a
 *   script tag, and the chunks it imports on first use (generated-files-*.js next to it);
 *   the sidecar serves dist/widget/.
 * - `--mode npm`: bare `lit` imports left for the app's bundler, in dist/widget/npm/.
 */
export default defineConfig(({ mode }) => {
  if (mode === 'mcp-app') return mcpAppBuild;
  const npm = mode === 'npm';
  return {
    publicDir: false,
    plugins: [minifyLitCss(), squeezeLitHtml()],
    build: {
      target: 'es2022',
      outDir: npm ? 'dist/widget/npm' : 'dist/widget',
      emptyOutDir: true,
      minify: !npm,
      sourcemap: true,
      reportCompressedSize: true,
      lib: npm
        ? {
            entry: {
              'generated-files': 'widget/generated-files.ts',
              'generated-files-element': 'widget/generated-files-element.ts',
            },
            formats: ['es'],
            fileName: (_format, entry) => `${entry}.js`,
          }
        : {
            entry: 'widget/generated-files.ts',
            formats: ['es'],
            fileName: () => 'generated-files.js',
          },
      rolldownOptions: npm
        ? {
            external: [/^lit($|\/)/, /^@lit\//],
            // One file per source module, so bundlers see the element on its own.
            output: { preserveModules: true, preserveModulesRoot: 'widget' },
          }
        : {
            // Vite keeps whitespace in ES libraries for the next bundler; this
            // one goes straight to browsers.
            output: {
              minify: true,
              comments: false,
              // The element, and the code it imports on first use (uploads, the preview view),
              // under stable names next to it (no hash: the sidecar serves them as they are).
              chunkFileNames: 'generated-files-[name].js',
            },
            // Lets the shared code (Lit, the formatters) stay in the entry instead of a file of its own.
            preserveEntrySignatures: 'allow-extension',
          },
    },
  };
});
