// custom-elements.json for <generated-files>, from the class's JSDoc header.
export default {
  globs: ['widget/*.ts'],

  outdir: 'dist/widget',
  litelement: true,
  plugins: [
    {
      name: 'events-from-jsdoc-only',
      // The analyzer also guesses events from `dispatchEvent(new XEvent(arg))`,
      // taking `arg` for the name; the JSDoc header lists every event, each
      // with a description, so keep those.
      packageLinkPhase({ customElementsManifest }) {
        for (const mod of customElementsManifest.modules) {
          for (const declaration of mod.declarations ?? []) {
            if (declaration.events) declaration.events = declaration.events.filter((e) => e.name && e.description);
          }
        }
      },
    },
  ],
};
