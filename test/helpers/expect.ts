import assert from 'node:assert/strict';

/**
 * For `assert.throws`/`assert.rejects`: an error that `is` accepts, with `code`, naming `option`
 * as its `argument` (the native clients' and the Store's option checks all name the option).
 */
export function namesArgument(
  is: (error: unknown) => error is Error & { code: string },
  code: string,
  option: string,
): (error: unknown) => boolean {
  return (error) => {
    assert.ok(is(error), String(error));
    assert.equal(error.code, code, error.message);
    assert.equal((error as { argument?: string }).argument, option, error.message);
    return true;
  };
}
