// The verbs and habits of issue 17 against real etcd and Consul: conditional put and rm, push,
// mkdir/rmdir, get -r / --detailed / -o, ls --keys-only, watch --exec, completion. Most commands run
// in this process (runCli) to keep the file quick; the watch runs as a real process.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeDir, stopAllServers } from '../helpers/processes.js';
import { startConsulDev, startEtcd, type ConsulAgent, type EtcdMember } from '../helpers/servers.js';
import { inProcess, killAll, startCli, type BytesResult } from './run.js';
import { eventually } from '../helpers/eventually.js';

after(stopAllServers);
after(killAll);

const BINARY = Buffer.from([0xff, 0xfe, 0x00, 0x01, 0x61]);

/** Runs polykv and checks its exit code; the result for more checks. */
async function expectCode(args: readonly string[], code: number, input?: Uint8Array | string) {
  const result = await inProcess(args, input === undefined ? {} : { input });
  assert.equal(result.code, code, `polykv ${args.join(' ')}: ${result.stdout.toString()}${result.stderr}`);
  return result;
}

/** One error line with this code. */
function assertError(result: BytesResult, code: string): void {
  assert.match(result.stderr, new RegExp(`^polykv: ${code}: [^\\n]+\\n$`));
}

describe('polykv verbs against real etcd and Consul', { timeout: 300_000 }, () => {
  let etcd: EtcdMember;
  let consul: ConsulAgent;
  before(async () => {
    [etcd, consul] = await Promise.all([startEtcd(), startConsulDev()]);
  });
  const backends = () => [
    { name: 'etcd', url: (prefix: string) => `etcd://${etcd.host}/${prefix}`, flags: false },
    { name: 'consul', url: (prefix: string) => `consul://${consul.address}/${prefix}`, flags: true },
  ];
  const fresh = (name: string) => `${name}-${randomBytes(3).toString('hex')}`;

  it('put --create-only, --prev-value, --prev-index (0: create-only), --push; the exit codes', async () => {
    for (const { name, url } of backends()) {
      const u = ['--url', url(fresh('put'))];
      await expectCode(['put', 'k', 'one', '--create-only', ...u], 0);
      const exists = await expectCode(['put', 'k', 'two', '--create-only', ...u], 1);
      assertError(exists, 'ALREADY_EXISTS');
      assert.equal((await expectCode(['get', 'k', ...u], 0)).stdout.toString(), 'one\n', name);

      assertError(await expectCode(['put', 'k', 'two', '--prev-value', 'nope', ...u], 1), 'COMPARE_FAILED');
      const swapped = await expectCode(['put', 'k', 'two', '--prev-value', 'one', '-o', 'json', ...u], 0);
      const { index } = JSON.parse(swapped.stdout.toString()) as { index: number };
      assertError(
        await expectCode(['put', 'k', 'x', '--prev-index', String(index - 1), ...u], 1),
        'COMPARE_FAILED',
      );
      await expectCode(['put', 'k', 'three', '--prev-index', String(index), ...u], 0);
      assertError(await expectCode(['put', 'k', 'x', '--prev-index', '0', ...u], 1), 'ALREADY_EXISTS');
      await expectCode(['put', 'fresh', 'x', '--prev-index', '0', ...u], 0);
      // A condition on a missing key: not found (3), nothing written.
      assertError(await expectCode(['put', 'gone', 'x', '--prev-value', 'a', ...u], 3), 'NOT_FOUND');
      assertError(await expectCode(['put', 'gone', 'x', '--prev-index', '5', ...u], 3), 'NOT_FOUND');
      assert.equal((await expectCode(['get', 'gone', ...u], 3)).stdout.length, 0);
      // --base64 covers --prev-value too.
      await expectCode(['put', 'b', 'aGk=', '--base64', ...u], 0);
      await expectCode(['put', 'b', 'Ynll', '--base64', '--prev-value', 'aGk=', ...u], 0);
      assert.equal((await expectCode(['get', 'b', ...u], 0)).stdout.toString(), 'bye\n');
      // One condition at most.
      assertError(
        await expectCode(['put', 'k', 'x', '--create-only', '--prev-index', '3', ...u], 2),
        'USAGE',
      );
      assertError(await expectCode(['put', 'q', 'x', '--push', '--prev-value', 'a', ...u], 2), 'USAGE');

      // --push prints the new key; the keys sort in the order of the pushes.
      const pushed: string[] = [];
      for (const job of ['job 1', 'job 2', 'job 3'])
        pushed.push((await expectCode(['put', 'queue', job, '--push', ...u], 0)).stdout.toString().trim());
      assert.deepEqual([...pushed].sort(), pushed, name);
      assert.ok(pushed.every((key) => key.startsWith('queue/')));
      const listed = (await expectCode(['get', '-r', 'queue', ...u], 0)).stdout.toString();
      assert.equal(listed, pushed.map((key, i) => `${key}:job ${i + 1}\n`).join(''), name);
    }
  });

  it('rm --prev-value / --prev-index; mkdir and rmdir (empty only, never a value)', async () => {
    for (const { name, url } of backends()) {
      const u = ['--url', url(fresh('rm'))];
      const put = JSON.parse((await expectCode(['put', 'k', 'v', '--json', ...u], 0)).stdout.toString()) as {
        index: number;
      };
      assertError(await expectCode(['rm', 'k', '--prev-value', 'w', ...u], 1), 'COMPARE_FAILED');
      assertError(
        await expectCode(['rm', 'k', '--prev-index', String(put.index + 100), ...u], 1),
        'COMPARE_FAILED',
      );
      await expectCode(['rm', 'k', '--prev-index', String(put.index), ...u], 0);
      assertError(await expectCode(['rm', 'k', '--prev-index', String(put.index), ...u], 3), 'NOT_FOUND');
      await expectCode(['rm', 'k', '--prev-value', 'v', '-f', ...u], 0);
      await expectCode(['put', 'k', 'v', ...u], 0);
      await expectCode(['rm', 'k', '--prev-value', 'v', ...u], 0);
      assertError(await expectCode(['rm', 'k', '-r', '--prev-value', 'v', ...u], 2), 'USAGE');

      await expectCode(['mkdir', 'd', ...u], 0);
      assertError(await expectCode(['mkdir', 'd', ...u], 1), 'ALREADY_EXISTS');
      assert.equal((await expectCode(['ls', ...u], 0)).stdout.toString(), 'd/\n', name);
      await expectCode(['put', 'd/x', '1', ...u], 0);
      assertError(await expectCode(['rmdir', 'd', ...u], 1), 'IS_A_DIRECTORY');
      assertError(await expectCode(['rmdir', 'd/x', ...u], 1), 'NOT_A_DIRECTORY');
      assert.equal(
        (await expectCode(['get', 'd/x', ...u], 0)).stdout.toString(),
        '1\n',
        'rmdir left the value',
      );
      await expectCode(['rm', 'd/x', ...u], 0);
      await expectCode(['rmdir', 'd', ...u], 0);
      assertError(await expectCode(['rmdir', 'd', ...u], 3), 'NOT_FOUND');
      assert.equal((await expectCode(['ls', ...u], 0)).stdout.toString(), '', name);
      // A directory TTL: etcd has one, Consul refuses (a folder is a key, not a session).
      const timed = await expectCode(['mkdir', 'tdir', '--ttl', '60', ...u], name === 'etcd' ? 0 : 1);
      if (name === 'etcd') {
        const [entry] = JSON.parse((await expectCode(['ls', '-o', 'json', ...u], 0)).stdout.toString()) as {
          expiresAt?: string;
        }[];
        assert.ok(entry?.expiresAt, 'the directory expires');
      } else assertError(timed, 'NOT_SUPPORTED');
    }
  });

  it('get -r, --detailed and -o json|table|extended; ls --keys-only; one output at a time', async () => {
    for (const { name, url, flags } of backends()) {
      const u = ['--url', url(fresh('get'))];
      await expectCode(['put', 'app/a', 'line 1\nline 2', ...u], 0);
      await expectCode(['put', 'app/t', 'timed', '--ttl', '60', ...u], 0);
      if (flags) await expectCode(['put', 'app/f', 'flagged', '--flags', '42', ...u], 0);
      await expectCode(['mkdir', 'app/empty', ...u], 0);
      const json = JSON.parse(
        (await expectCode(['get', 'app/a', '-o', 'json', ...u], 0)).stdout.toString(),
      ) as {
        index: number;
        createIndex: number;
      };
      const keys = flags ? ['app/a', 'app/f', 'app/t'] : ['app/a', 'app/t'];

      // -r: key:value lines as consul kv get -recurse prints them (directories are not values).
      const recursive = (await expectCode(['get', '-r', 'app', ...u], 0)).stdout.toString();
      assert.equal(recursive, `app/a:line 1\nline 2\n${flags ? 'app/f:flagged\n' : ''}app/t:timed\n`, name);
      assert.equal((await expectCode(['get', '-r', 'nothing', ...u], 3)).stdout.length, 0);
      const all = JSON.parse((await expectCode(['get', '-r', '-o', 'json', ...u], 0)).stdout.toString()) as {
        key: string;
      }[];
      assert.deepEqual(
        all.map((entry) => entry.key),
        keys,
      );

      // --detailed = -o extended: etcdctl's layout, Flags on stores that have them, then the value.
      const detailed = (await expectCode(['get', 'app/a', '--detailed', ...u], 0)).stdout.toString();
      assert.equal(
        detailed,
        `Key: app/a\nCreated-Index: ${json.createIndex}\nModified-Index: ${json.index}\nTTL: 0\n` +
          `${flags ? 'Flags: 0\n' : ''}\nline 1\nline 2\n`,
        name,
      );
      assert.equal(
        (await expectCode(['get', 'app/a', '-o', 'extended', ...u], 0)).stdout.toString(),
        detailed,
      );
      const timed = (await expectCode(['get', 'app/t', '--detailed', ...u], 0)).stdout.toString();
      const ttl = Number(/^TTL: (\d+)$/m.exec(timed)?.[1]);
      assert.ok(ttl > 0 && ttl <= 60, timed);
      assert.match(timed, /^Expires: \d{4}-\d\d-\d\dT/m);
      if (flags)
        assert.match(
          (await expectCode(['get', 'app/f', '--detailed', ...u], 0)).stdout.toString(),
          /^Flags: 42$/m,
        );

      const table = (await expectCode(['get', 'app/a', '-o', 'table', ...u], 0)).stdout
        .toString()
        .split('\n');
      assert.match(
        table[0]!,
        flags ? /^KEY +VALUE +INDEX +CREATE-INDEX +FLAGS +TTL$/ : /^KEY +VALUE +INDEX +CREATE-INDEX +TTL$/,
      );
      assert.match(table[1]!, new RegExp(`^app/a +line 1\\\\nline 2 +${json.index} +${json.createIndex} `));

      // ls: --keys-only in every output; directories end with /.
      const lsKeys = JSON.parse(
        (await expectCode(['ls', 'app', '-o', 'json', '--keys-only', ...u], 0)).stdout.toString(),
      ) as string[];
      assert.deepEqual(lsKeys, [...keys.slice(0, -1), 'app/empty/', ...keys.slice(-1)].sort(), name);
      const lsTable = (
        await expectCode(['ls', 'app', '-o', 'table', '--keys-only', ...u], 0)
      ).stdout.toString();
      assert.equal(lsTable, `KEY\n${lsKeys.join('\n')}\n`);
      const lsExtended = (await expectCode(['ls', 'app', '-o', 'extended', ...u], 0)).stdout.toString();
      assert.match(lsExtended, /^Key: app\/empty\nDir: true\n/m);

      assertError(await expectCode(['get', 'app/a', '--json', '-o', 'table', ...u], 2), 'USAGE');
      assertError(await expectCode(['get', 'app/a', '--raw', '-r', ...u], 2), 'USAGE');
      assertError(await expectCode(['get', 'app/a', '-o', 'yaml', ...u], 2), 'USAGE');
      assertError(await expectCode(['watch', 'app', '-o', 'table', ...u], 2), 'USAGE');
    }
  });

  it('watch --exec runs the command once per change, in order, with the event and the bytes', async () => {
    for (const { name, url } of backends()) {
      const prefix = fresh('exec');
      const u = ['--url', url(prefix)];
      const dir = makeDir(fresh('watch-exec'));
      const log = join(dir, 'events');
      const script = join(dir, 'record.sh');
      // Records the event and the bytes of stdin (as hex: binary values come through stdin).
      writeFileSync(
        script,
        `#!/bin/sh\nprintf '%s %s %s %s ' "$POLYKV_WATCH_TYPE" "$POLYKV_WATCH_KEY" "$POLYKV_WATCH_VALUE" "$POLYKV_WATCH_FLAGS" >> '${log}'\n` +
          `od -An -tx1 | tr -d ' \\n' >> '${log}'\necho >> '${log}'\n` +
          `[ "$POLYKV_WATCH_KEY" != fail ] || exit 3\n`,
        { mode: 0o755 },
      );
      const watch = startCli(['watch', '', '-r', '--exec', ...u, '--', script]);
      try {
        await watch.waitFor('stderr', /^watching /m);
        await expectCode(['put', 'a', 'text', ...u], 0);
        await expectCode(['put', 'fail', 'x', ...u], 0);
        if (name === 'consul') await expectCode(['put', 'bin', '-', '--flags', '7', ...u], 0, BINARY);
        await expectCode(['rm', 'a', ...u], 0);
        const expected = [
          'put a text  74657874',
          'put fail x  78',
          ...(name === 'consul' ? [`put bin  7 ${BINARY.toString('hex')}`] : []),
          'delete a   ',
        ];
        await until(() => readLines(log).length >= expected.length, 'a run per change');
        assert.deepEqual(readLines(log), expected, name);
        // A run that fails is reported, and the watch goes on.
        assert.match(
          watch.stderr,
          /^polykv: watch --exec: .*record\.sh exited with 3 \(put fail, index \d+\)$/m,
        );
        assert.equal(watch.child.exitCode, null);
      } finally {
        watch.child.kill('SIGINT');
      }
      const ended = await watch.exited;
      assert.equal(ended.code, 130, ended.stderr);
    }
    // A command that cannot be run ends the watch with 127, as a shell would.
    const u = ['--url', `etcd://${etcd.host}/${fresh('x')}`];
    await expectCode(['put', 'k', 'v', ...u], 0);
    const missing = await expectCode(
      ['watch', 'k', '--initial', '--exec', ...u, '--', 'no-such-command-polykv'],
      127,
    );
    assert.match(missing.stderr, /^polykv: ENOENT: cannot run "no-such-command-polykv": command not found$/m);
  });
});

function readLines(file: string): string[] {
  try {
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter((line) => line !== '');
  } catch {
    return [];
  }
}

const until = (check: () => boolean, what: string): Promise<void> => eventually(check, what);

describe('polykv completion', () => {
  it('bash: completes commands, options and option values from the command table', async () => {
    const script = (await expectCode(['completion', 'bash'], 0)).stdout.toString();
    const complete = (...words: string[]): string[] => {
      const run = spawnSync(
        'bash',
        [
          '-c',
          `eval "$(cat)"; COMP_WORDS=(${words.map((word) => `'${word}'`).join(' ')}); ` +
            `COMP_CWORD=${words.length - 1}; _polykv; printf '%s\\n' "\${COMPREPLY[@]}"`,
        ],
        { input: script, encoding: 'utf8' },
      );
      assert.equal(run.status, 0, run.stderr);
      return run.stdout.split('\n').filter((line) => line !== '');
    };
    assert.deepEqual(complete('polykv', 'rm'), ['rm', 'rmdir']);
    assert.deepEqual(complete('polykv', 'put', 'k', 'v', '--prev'), ['--prev-value', '--prev-index']);
    assert.deepEqual(complete('polykv', 'get', 'k', '-o', ''), ['text', 'json', 'table', 'extended']);
    assert.deepEqual(complete('polykv', 'set', 'k', 'v', '--output', 'e'), ['extended']);
    assert.deepEqual(complete('polykv', 'dump', '--format', 'c'), ['consul']);
    assert.deepEqual(complete('polykv', 'help', 'mk'), ['mkdir']);
  });

  it('zsh: a #compdef script with every command and its options; bad shell is a usage error', async () => {
    const script = (await expectCode(['completion', 'zsh'], 0)).stdout.toString();
    assert.match(script, /^#compdef polykv\n/);
    for (const command of ['get', 'put', 'set', 'rm', 'mkdir', 'rmdir', 'watch', 'lock', 'completion'])
      assert.match(script, new RegExp(`^ {4}'${command}:`, 'm'), command);
    assert.match(script, /'\(-o --output\)'\{-o,--output\}'\[[^\]]*\]:f:\(text json table extended\)'/);
    assert.match(script, /'--prev-index\[[^\]]*\]:n:'/);
    assertError(await expectCode(['completion', 'fish'], 2), 'USAGE');
  });
});

describe('one exit-code table', () => {
  it('the README has the same exit codes as polykv --help, and every command is in its CLI section', async () => {
    const help = (await expectCode(['--help'], 0)).stdout.toString();
    const fromHelp = help
      .slice(help.indexOf('Exit codes:\n'))
      .split('\n')
      .slice(1)
      .filter((line) => /^ {2}(\d+|n) /.test(line))
      .map((line) => line.trim().replace(/ {2,}/, '  '));
    const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
    const table = readme.slice(readme.indexOf('| exit code | meaning'));
    const fromReadme = table
      .slice(0, table.indexOf('\n\n'))
      .split('\n')
      .slice(2)
      .map((line) => line.split('|').map((cell) => cell.trim().replaceAll('`', '')))
      .map(([, code, meaning]) => `${code}  ${meaning}`);
    assert.deepEqual(fromReadme, fromHelp);
    const section = readme.slice(
      readme.indexOf('## The `polykv` command'),
      readme.indexOf('### Dump formats'),
    );
    // Commands only: the exit-code rows below them start the same way ('  n  lock, exec: ...').
    const commands = help.slice(0, help.indexOf('Exit codes:\n'));
    for (const name of commands.matchAll(/^ {2}([a-z]+)(?: \([a-z, ]+\))? {2,}/gm))
      assert.ok(section.includes(`polykv ${name[1]}`), `${name[1]} is in the README's CLI section`);
  });
});
