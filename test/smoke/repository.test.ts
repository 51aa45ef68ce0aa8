import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { repoPath } from '../helpers/processes.js';

// The repository stands on its own: its scripts name files it has, and its documents point at
// nothing outside it (a reader of a copy, or of the published packages, has nothing else).

const root = fileURLToPath(repoPath(''));
const SKIP = new Set(['node_modules', 'build', 'dist', '.git', '.peers', '.results']);

function walk(dir: string, out: string[] = []): string[] {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (SKIP.has(entry.name)) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) walk(path, out);
    else out.push(path);
  }
  return out;
}

const files = walk(root);
const TEXT = /\.(md|ts|mjs|js|json|tsv|sh|ya?ml)$/;

describe('the repository stands on its own', () => {
  it('every root npm script that runs a file of the repository names one that exists', () => {
    const { scripts } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    const missing: string[] = [];
    for (const [name, command] of Object.entries(scripts)) {
      for (const match of command.matchAll(/(?:^|\s)((?:scripts|bench|examples|test)\/[\w./-]+\.\w+)/g)) {
        if (!existsSync(join(root, match[1]!))) missing.push(`npm run ${name}: ${match[1]}`);
      }
    }
    assert.deepEqual(missing, []);
  });

  it('no document or source file refers to a path outside the repository', () => {
    const outside: string[] = [];
    for (const file of files.filter((path) => TEXT.test(path))) {
      const text = readFileSync(file, 'utf8');
      const name = relative(root, file);
      text.split('\n').forEach((line, at) => {
        if (/\.\.\/shared\b|\/work\//.test(line)) outside.push(`${name}:${at + 1}: ${line.trim()}`);
      });
      if (!file.endsWith('.md')) continue;
      // Markdown links and `code` paths that climb out of the repository.
      for (const match of text.matchAll(/\]\(([^)#\s]+)[^)]*\)|`(\.\.\/[^`\s]+)`/g)) {
        const target = match[1] ?? match[2]!;
        if (/^[a-z]+:/i.test(target)) continue; // a URL, checked by the line rule above
        const at = resolve(dirname(file), target);
        if (relative(root, at).startsWith('..'))
          outside.push(`${name}: ${target} (resolves outside the repository)`);
        else if (match[1] !== undefined && !existsSync(at)) outside.push(`${name}: ${target} does not exist`);
      }
    }
    assert.deepEqual(outside, []);
  });

  it('no source file is longer than 500 lines (packages, scripts, bench, tests)', () => {
    // Past 500 lines a file holds more than a reader follows at once: split it before adding to it.
    const long: string[] = [];
    for (const file of files.filter((path) => /\.(ts|mjs|cjs|js)$/.test(path))) {
      const text = readFileSync(file, 'utf8');
      const lines = text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
      if (lines > 500) long.push(`${relative(root, file)}: ${lines} lines`);
    }
    assert.deepEqual(long, []);
  });

  it('has no import cycle between source files (scripts/import-cycles.mjs over packages and test)', () => {
    // A cycle ties files together so that neither can be read, tested or moved alone; the script
    // counts `import type` too, since a cycle of types ties them just the same.
    const run = spawnSync(process.execPath, [join(root, 'scripts/import-cycles.mjs'), 'packages', 'test'], {
      cwd: root,
      encoding: 'utf8',
    });
    assert.equal(run.status, 0, `import cycles found:\n${run.stdout}${run.stderr}`);
    assert.match(run.stdout, / 0 import cycles\n$/);
  });
});
