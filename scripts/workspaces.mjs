// The workspace packages, read from the root package.json's `workspaces` (a trailing `/*` expands
// to every folder with a package.json), so that a new package is checked as soon as it is listed.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const root = new URL('..', import.meta.url).pathname;

/** Every workspace package: its folder (absolute), its folder relative to the root, its package.json. */
export function workspaces() {
  const { workspaces: patterns = [] } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const dirs = patterns.flatMap((pattern) => {
    if (!pattern.endsWith('/*')) return [pattern];
    const parent = pattern.slice(0, -2);
    return readdirSync(join(root, parent), { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => `${parent}/${entry.name}`)
      .sort();
  });
  return dirs
    .filter((rel) => existsSync(join(root, rel, 'package.json')))
    .map((rel) => {
      const dir = join(root, rel);
      return { dir, rel, pkg: JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) };
    });
}

/** The entry points of a package's `exports` map that have types: `[subpath, absolute .d.ts]`. */
export function typedEntries({ dir, pkg }) {
  const entries = [];
  for (const [subpath, target] of Object.entries(pkg.exports ?? {})) {
    if (typeof target === 'object' && target !== null && typeof target.types === 'string')
      entries.push([subpath, join(dir, target.types)]);
  }
  return entries;
}
