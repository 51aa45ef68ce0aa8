#!/usr/bin/env node
// Packaging lint (`npm run pack:check`, run by `npm test`): packs every workspace package with
// `npm pack` and checks each tarball as a user would receive it:
//   - what it holds: no test files, every source map's sources inside the tarball, a README and a
//     CHANGELOG.md;
//   - publint (strict, suggestions included): the package.json fields against the packed files;
//   - versions: every package at one version, which heads its CHANGELOG.md, and every dependency
//     of one polykv package on another asks for exactly that version;
//   - @arethetypeswrong/cli, profile `esm-only` (the packages are ESM only, `"type": "module"`,
//     with no `require` condition): every entry point's types resolve under node16 and bundler.
// `--keep DIR` leaves the tarballs in DIR.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, normalize } from 'node:path';
import { publint } from 'publint';
import { formatMessage } from 'publint/utils';
import { root, workspaces } from './workspaces.mjs';

const keepAt = process.argv.indexOf('--keep');
const dest = keepAt > 0 ? process.argv[keepAt + 1] : mkdtempSync(join(tmpdir(), 'polykv-pack-'));
const problems = [];

function pack(workspace) {
  const run = spawnSync('npm', ['pack', '--json', '--pack-destination', dest], {
    cwd: workspace.dir,
    encoding: 'utf8',
  });
  if (run.status !== 0) throw new Error(`npm pack in ${workspace.rel} failed:\n${run.stderr}`);
  const [info] = JSON.parse(run.stdout);
  return { ...workspace, tarball: join(dest, info.filename), files: info.files.map((file) => file.path) };
}

function checkContents({ pkg, dir, files }) {
  const shipped = new Set(files);
  const say = (text) => problems.push(`${pkg.name}: ${text}`);
  for (const file of files) {
    if (/(^|\/)(test|tests|__tests__)\/|\.test\.[cm]?[jt]s$/.test(file)) say(`ships a test file: ${file}`);
    if (!file.endsWith('.map')) continue;
    const { sources = [] } = JSON.parse(readFileSync(join(dir, file), 'utf8'));
    for (const source of sources) {
      const target = normalize(join(dirname(file), source));
      if (!shipped.has(target)) say(`${file} points at ${target}, which the tarball does not hold`);
    }
  }
  for (const needed of ['README.md', 'CHANGELOG.md', 'package.json'])
    if (!shipped.has(needed)) say(`the tarball has no ${needed}`);
}

function checkVersions(packed) {
  const versions = new Set(packed.map(({ pkg }) => pkg.version));
  if (versions.size !== 1)
    problems.push(
      `the packages are at several versions: ${packed.map(({ pkg }) => `${pkg.name}@${pkg.version}`).join(', ')}`,
    );
  const names = new Set(packed.map(({ pkg }) => pkg.name));
  for (const { pkg, dir } of packed) {
    for (const field of ['dependencies', 'peerDependencies', 'devDependencies', 'optionalDependencies']) {
      for (const [name, range] of Object.entries(pkg[field] ?? {})) {
        if (names.has(name) && range !== pkg.version)
          problems.push(
            `${pkg.name}: ${field} asks for ${name}@${range}, the workspace version is ${pkg.version}`,
          );
      }
    }
    let changelog = '';
    try {
      changelog = readFileSync(join(dir, 'CHANGELOG.md'), 'utf8');
    } catch {
      continue; // reported with the tarball's contents
    }
    const top = /^## (\S+)/m.exec(changelog)?.[1];
    if (top !== pkg.version)
      problems.push(`${pkg.name}: CHANGELOG.md starts at ${top}, package.json says ${pkg.version}`);
  }
}

async function lint({ pkg, tarball }) {
  const buffer = readFileSync(tarball);
  const tarballBytes = buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength);
  const result = await publint({ pack: { tarball: tarballBytes }, strict: true, level: 'suggestion' });
  for (const message of result.messages)
    problems.push(
      `${pkg.name}: publint ${message.type}: ${formatMessage(message, result.pkg, { color: false })}`,
    );
}

function attw({ pkg, tarball }) {
  const bin = join(root, 'node_modules/.bin/attw');
  return new Promise((resolve) => {
    const child = spawn(
      bin,
      [tarball, '--profile', 'esm-only', '--format', 'ascii', '--no-color', '--no-emoji'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('exit', (code) => {
      if (code !== 0) problems.push(`${pkg.name}: @arethetypeswrong/cli found problems:\n${output}`);
      resolve();
    });
  });
}

try {
  const packed = workspaces().map(pack);
  packed.forEach(checkContents);
  checkVersions(packed);
  // The two linters read the tarballs only: run them side by side.
  await Promise.all(packed.flatMap((entry) => [lint(entry), attw(entry)]));
  if (problems.length > 0) {
    console.error(`packaging lint failed:\n${problems.map((problem) => `  ${problem}`).join('\n')}`);
    process.exitCode = 1;
  } else {
    console.log(
      `packaging lint clean: ${packed.map(({ tarball }) => tarball.slice(dest.length + 1)).join(', ')}`,
    );
  }
} finally {
  if (keepAt < 0) rmSync(dest, { recursive: true, force: true });
}
