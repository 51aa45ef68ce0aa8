// The hand-written progress bar of `polykv copy`: redrawn in place on a terminal, one line per 10%
// elsewhere.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ProgressBar } from '@polykv/cli';

function recorder(isTTY: boolean, columns = 80) {
  const writes: string[] = [];
  return { writes, stream: { isTTY, columns, write: (text: string) => writes.push(text) } };
}

describe('ProgressBar', () => {
  it('not a terminal: a line at every 10%, ending with 100%', () => {
    const { writes, stream } = recorder(false);
    const bar = new ProgressBar(stream, 'copying');
    for (let done = 1; done <= 95; done++) bar.update({ done, total: 95, detail: `copied ${done}` });
    bar.finish();
    const lines = writes.join('').split('\n').filter(Boolean);
    assert.equal(lines.length, 11, lines.join('\n')); // the first key, then 10% ... 100%
    assert.equal(lines[0], 'copying   1% (1/95)  copied 1');
    assert.equal(lines.at(-1), 'copying 100% (95/95)  copied 95');
    assert.ok(
      writes.every((text) => !text.includes('\r')),
      'no carriage returns in logs',
    );
  });

  it('a terminal: redraws one line with \\r, at most every 80 ms, and always draws the end', () => {
    const { writes, stream } = recorder(true, 60);
    const bar = new ProgressBar(stream, 'copying');
    for (let done = 1; done <= 1000; done++) bar.update({ done, total: 1000 });
    bar.finish();
    assert.ok(writes.length <= 6, `throttled: ${writes.length} writes`);
    const last = writes.at(-2)!;
    assert.match(last, /^\rcopying \[#+\] 100% 1000\/1000\x1b\[K$/);
    assert.ok(last.length - 4 <= 60, 'fits the terminal width');
    assert.equal(writes.at(-1), '\n');
  });

  it('nothing to do: one line at 100%', () => {
    const { writes, stream } = recorder(false);
    const bar = new ProgressBar(stream, 'copying');
    bar.update({ done: 0, total: 0, detail: 'nothing to copy' });
    bar.finish();
    assert.deepEqual(writes, ['copying 100% (0/0)  nothing to copy\n']);
  });
});
