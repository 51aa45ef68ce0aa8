import type { Command } from '../command.js';
import { completion } from './completion.js';
import { copy } from './copy.js';
import { diff } from './diff.js';
import { dump } from './dump.js';
import { exec } from './exec.js';
import { get } from './get.js';
import { load } from './load.js';
import { lock } from './lock.js';
import { mirror } from './mirror.js';
import { ls } from './ls.js';
import { mkdir } from './mkdir.js';
import { put } from './put.js';
import { rm } from './rm.js';
import { rmdir } from './rmdir.js';
import { watch } from './watch.js';

/** Every command, in the order `polykv --help` lists them. */
export const commands: readonly Command[] = [
  get,
  put,
  rm,
  ls,
  mkdir,
  rmdir,
  watch,
  lock,
  exec,
  copy,
  diff,
  dump,
  load,
  mirror,
  completion,
];

export function findCommand(name: string): Command | undefined {
  return commands.find((command) => command.name === name || command.aliases?.includes(name));
}
