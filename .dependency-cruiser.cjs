// `npm run lint` runs dependency-cruiser with these rules over the TypeScript module graph.
// Dependencies between src/ folders flow one way (README.md, "Layout"): a cycle between two
// folders fails the lint, whichever modules make it and whether the imports are types only.
// Around src/, testbed/ (the test Kubernetes and the function's process) serves both test/ and
// scripts/, which import neither each other nor are imported by it.
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
    {
      name: 'scripts-not-tests',
      comment: 'scripts/ (dev, bench, soak, cluster) use testbed/, never test/',
      severity: 'error',
      from: { path: '^scripts/' },
      to: { path: '^test/' },
    },
    {
      name: 'tests-not-scripts',
      comment:
        'test/ runs the scripts as users do (as commands), and shares code with them through testbed/',
      severity: 'error',
      from: { path: '^test/' },
      to: { path: '^scripts/' },
    },
    {
      name: 'testbed-below-tests-and-scripts',
      comment: 'testbed/ is what test/ and scripts/ stand on: it imports neither',
      severity: 'error',
      from: { path: '^testbed/' },
      to: { path: '^(test|scripts)/' },
    },
    {
      name: 'src-alone',
      comment: 'the function ships src/ and index.ts only',
      severity: 'error',
      from: { path: '^(src/|index\\.ts$)' },
      to: { path: '^(test|testbed|scripts)/' },
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
