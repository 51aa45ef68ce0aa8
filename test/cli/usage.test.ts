// The `polykv` command's help, usage errors and watches that need no server, run as a subprocess
// (`node packages/cli/dist/main.js ...`); cli.test.ts runs it against real servers.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { freePort } from '../helpers/processes.js';
import { assertOneErrorLine, cli, killAll, startCli } from './run.js';

after(killAll);

const COMMANDS = ['get', 'put', 'rm', 'ls', 'watch', 'lock', 'copy', 'diff', 'dump', 'load'];

describe('polykv help and usage (no server)', () => {
  it('polykv --help lists every command, the URL forms, the environment and the exit codes', async () => {
    const result = await cli(['--help']);
    assert.equal(result.code, 0);
    for (const name of COMMANDS) assert.match(result.stdout, new RegExp(`^  ${name}\\b`, 'm'), name);
    assert.match(result.stdout, /migrate/);
    for (const text of [
      'POLYKV_URL',
      'CONSUL_HTTP_TOKEN',
      'POLYKV_DEBUG',
      'etcd://',
      'consul://',
      'memory://',
    ])
      assert.ok(result.stdout.includes(text), text);
    for (const code of ['0', '1', '2', '3', '4', '130'])
      assert.match(result.stdout, new RegExp(`^  ${code} +\\S`, 'm'), `exit code ${code}`);
  });

  it('every command has --help (and -h, and polykv help <command>)', async () => {
    for (const name of [...COMMANDS, 'migrate']) {
      const result = await cli([name, '--help']);
      assert.equal(result.code, 0, name);
      const shown = name === 'migrate' ? 'copy' : name;
      assert.match(result.stdout, new RegExp(`^Usage: polykv ${shown}`, 'm'), name);
      assert.match(result.stdout, /Options:[\s\S]*Exit codes:[\s\S]*Example/, name);
      assert.equal(result.stderr, '');
    }
    assert.equal((await cli(['get', '-h'])).code, 0);
    const help = await cli(['help', 'lock']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Usage: polykv lock <key>.* -- <cmd>/);
    assert.equal((await cli(['--version'])).code, 0);
  });

  it('usage errors exit with 2 and one line naming the problem', async () => {
    const cases: [string[], RegExp][] = [
      [[], /^$/],
      [['bogus'], /unknown command "bogus"/],
      [['get', '--url', 'memory://', '--nope', 'k'], /unknown option '--nope'/],
      [['get', '--url', 'memory://'], /missing <key>/],
      [['get', 'a', 'b', '--url', 'memory://'], /unexpected argument "b"/],
      [['put', 'k', 'v', '--ttl', 'soon', '--url', 'memory://'], /--ttl must be a whole number >= 1/],
      [['get', 'k'], /no store URL: pass --url or set POLYKV_URL/],
      [['copy', '--from', 'memory://'], /needs --from <url> and --to <url>/],
      [['lock', 'k', '--url', 'memory://'], /needs -- <command>/],
      [['lock', 'k', '--url', 'memory://', '--'], /needs a command after --/],
    ];
    for (const [args, message] of cases) {
      const result = await cli(args);
      assert.equal(result.code, 2, args.join(' '));
      if (args.length === 0) {
        assert.match(result.stderr, /Usage: polykv <command>/);
        continue;
      }
      assertOneErrorLine(result, 'USAGE');
      assert.match(result.stderr, message, args.join(' '));
    }
  });

  it('a bad URL is one INVALID_ARGUMENT line with the password masked', async () => {
    const result = await cli(['get', 'k', '--url', 'etcd://bob:hunter22@bad_host:2379']);
    assert.equal(result.code, 1);
    assertOneErrorLine(result, 'INVALID_ARGUMENT');
    assert.doesNotMatch(result.stderr, /hunter22/);
    const scheme = await cli(['get', 'k', '--url', 'redis://127.0.0.1']);
    assertOneErrorLine(scheme, 'INVALID_ARGUMENT');
    assert.match(scheme.stderr, /unknown scheme "redis"/);
  });
});
describe('polykv watch without a server (issue 13.2)', () => {
  it('an unreachable store: the watch prints its retry line from the first failure and keeps going', async () => {
    const port = await freePort();
    const watch = startCli(['watch', 'k', '--url', `etcd://127.0.0.1:${port}`]);
    await watch.waitFor('stderr', /^watch disconnected, retrying: .*ECONNREFUSED/m);
    assert.equal(watch.child.exitCode, null, 'still watching');
    watch.child.kill('SIGINT');
    const result = await watch.exited;
    assert.equal(result.code, 130, result.stderr);
  });

  it('memory:// watches until Ctrl-C (it holds no socket that would keep the process alive)', async () => {
    const watch = startCli(['watch', 'a', '--url', 'memory://']);
    await watch.waitFor('stderr', /^watching a/m);
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(watch.child.exitCode, null, `still watching: ${watch.stderr}`);
    watch.child.kill('SIGINT');
    const result = await watch.exited;
    assert.equal(result.code, 130, result.stderr);
    assert.doesNotMatch(result.stderr, /polykv: /, 'no error line');
  });
});
