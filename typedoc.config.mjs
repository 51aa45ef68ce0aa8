// @ts-check
// API docs (`npm run docs`, run by `npm test`): one module per entry point of every workspace
// package's `exports` map, read from the sources (`tsconfig.docs.json` maps `@polykv/*` onto them, so
// a symbol of one package used by another links to its one page). Warnings are errors: every
// exported declaration needs its TSDoc and every {@link} must resolve.
import { relative } from 'node:path';
import { root, typedEntries, workspaces } from './scripts/workspaces.mjs';

const packages = workspaces();
const entryPoints = packages.flatMap((workspace) =>
  typedEntries(workspace).map(([, dts]) =>
    relative(root, dts)
      .replace(/\/dist\//, '/src/')
      .replace(/\.d\.ts$/, '.ts'),
  ),
);

/** @type {Partial<import('typedoc').TypeDocOptions>} */
export default {
  entryPoints,
  tsconfig: 'tsconfig.docs.json',
  out: 'build/docs',
  treatWarningsAsErrors: true,
  // TypeDoc checks only the packages named here (by default the root's, which has no code).
  packagesRequiringDocumentation: packages.map(({ pkg }) => pkg.name),
  // Every exported declaration, function and method (each call signature) must have TSDoc. Fields
  // and getters are not required yet: about 1,300 have none, most of them interface fields that
  // mirror the servers' JSON (`CatalogNode.Address`); naming them here is the follow-up.
  requiredToBeDocumented: ['Enum', 'Variable', 'Function', 'Class', 'Interface', 'TypeAlias'],
  validation: { notExported: true, invalidLink: true, notDocumented: true },
  excludePrivate: true,
  excludeInternal: true,
  readme: 'none',
  githubPages: false,
  disableGit: true,
  disableSources: true,
};
