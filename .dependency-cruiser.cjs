// `npm run lint` runs dependency-cruiser with these rules over the TypeScript module graph.
// Dependencies between src/ folders flow one way (README.md, "Layout"): a cycle between two
// folders fails the lint, whichever modules make it and whether the imports are types only.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-folder-cycles',
      comment:
        'src/ folders depend on each other one way: kube/ declares what it reports (src/kube/api-observer.ts) and what Events need (src/kube/event-sink.ts), start-up plugs metrics and traces in',
      severity: 'error',
      scope: 'folder',
      from: { path: '^src/' },
      to: { circular: true },
    },
  ],
  options: {
    // TypeScript 7's compiler has no JavaScript API (dependency-cruiser reads TypeScript 6 or
    // 7.1 and later): swc parses the sources, type-only imports included.
    parser: 'swc',
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^build/' },
  },
};
