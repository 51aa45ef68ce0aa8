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
  // Every public symbol must have TSDoc: declarations, functions and methods (each call signature),
  // constructors, getters, enum members and every field, also those of the servers' JSON shapes
  // (`CatalogNode.Address`) and of inline object types.
  requiredToBeDocumented: [
    'Enum',
    'EnumMember',
    'Variable',
    'Function',
    'Class',
    'Interface',
    'TypeAlias',
    'Property',
    'Method',
    'Accessor',
    'Constructor',
  ],
  validation: { notExported: true, invalidLink: true, notDocumented: true },
  excludePrivate: true,
  excludeInternal: true,
  readme: 'none',
  githubPages: false,
  disableGit: true,
  disableSources: true,
};
