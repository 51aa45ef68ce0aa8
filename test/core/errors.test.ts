import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  AbortError,
  BackendError,
  ClosedError,
  CompareFailedError,
  InvalidArgumentError,
  isPolykvError,
  KeyExistsError,
  KeyHeldError,
  KeyNotFoundError,
  KeyTypeError,
  LockLostError,
  NotSupportedError,
  PermissionDeniedError,
  PolykvError,
  TimeoutError,
  UnavailableError,
  UnrepresentableError,
  ValueTooLargeError,
} from '@polykv/core';

describe('errors', () => {
  it('every class has a stable code, its own name, and keeps the cause', () => {
    const cause = new Error('native');
    const cases: [PolykvError, string, string][] = [
      [new KeyNotFoundError('k', { cause }), 'NOT_FOUND', 'KeyNotFoundError'],
      [new CompareFailedError('k', { cause }), 'COMPARE_FAILED', 'CompareFailedError'],
      [new KeyExistsError('k', { cause }), 'ALREADY_EXISTS', 'KeyExistsError'],
      [new KeyTypeError('NOT_A_DIRECTORY', 'k', { cause }), 'NOT_A_DIRECTORY', 'KeyTypeError'],
      [new KeyTypeError('IS_A_DIRECTORY', 'k', { cause }), 'IS_A_DIRECTORY', 'KeyTypeError'],
      [new LockLostError('k', { cause }), 'LOCK_LOST', 'LockLostError'],
      [new TimeoutError('slow', { cause, timeoutMs: 5 }), 'TIMEOUT', 'TimeoutError'],
      [new AbortError(undefined, { cause }), 'ABORTED', 'AbortError'],
      [
        new UnavailableError('down', { cause, hosts: [{ host: 'http://h1:2379', error: cause }] }),
        'UNAVAILABLE',
        'UnavailableError',
      ],
      [new InvalidArgumentError('key', 'bad', { cause }), 'INVALID_ARGUMENT', 'InvalidArgumentError'],
      [new ValueTooLargeError('big', { cause, size: 2, limit: 1 }), 'VALUE_TOO_LARGE', 'ValueTooLargeError'],
      [new PermissionDeniedError('no', { cause }), 'PERMISSION_DENIED', 'PermissionDeniedError'],
      [new NotSupportedError('no', { cause }), 'NOT_SUPPORTED', 'NotSupportedError'],
      [new ClosedError(undefined, { cause }), 'CLOSED', 'ClosedError'],
      [new BackendError('odd', { cause }), 'BACKEND_ERROR', 'BackendError'],
      [
        new UnrepresentableError('bytes', { what: 'value', key: 'k', cause }),
        'UNREPRESENTABLE',
        'UnrepresentableError',
      ],
      [
        new KeyHeldError('k', { session: 's-1', sessionName: 'leader', node: 'n1' }, { cause }),
        'HELD',
        'KeyHeldError',
      ],
    ];
    for (const [error, code, name] of cases) {
      assert.equal(error.code, code);
      assert.equal(error.name, name);
      assert.equal(error.cause, cause);
      assert.ok(error instanceof PolykvError && error instanceof Error);
      assert.ok(isPolykvError(error));
      assert.match(String(error), new RegExp(`^${name}: `));
    }
    assert.equal(new KeyNotFoundError('a/b').key, 'a/b');
    assert.equal(new UnavailableError('x', { hosts: [{ host: 'h', error: cause }] }).hosts.length, 1);
    assert.equal(new UnrepresentableError('x', { what: 'flags' }).what, 'flags');
    const held = new KeyHeldError('svc/leader', { session: 's-1', sessionName: 'leader', node: 'n1' });
    assert.deepEqual(
      [held.key, held.session, held.sessionName, held.node],
      ['svc/leader', 's-1', 'leader', 'n1'],
    );
    assert.match(held.message, /svc\/leader is held by session "leader" \(s-1\) on node n1/);
  });

  it('isPolykvError recognizes errors by brand, not by class identity', () => {
    assert.equal(isPolykvError(new Error('plain')), false);
    assert.equal(isPolykvError({ code: 'NOT_FOUND' }), false);
    assert.equal(isPolykvError(null), false);
    const fromAnotherCopy = Object.assign(new Error('x'), { code: 'NOT_FOUND' });
    Object.defineProperty(fromAnotherCopy, Symbol.for('polykv.error'), { value: true });
    assert.equal(isPolykvError(fromAnotherCopy), true);
  });
});
