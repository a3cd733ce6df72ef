// A directory of stand-ins for the commands a library might run through a shell (`ip`, `free`,
// `top`…): put first in a process's PATH, each notes its name in a log file. For asserting that
// a code path starts no process.
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** What node-os-utils runs on Linux and elsewhere (its lib/*.js), and the usual suspects. */
const COMMANDS = ['ip', 'ifconfig', 'netstat', 'free', 'top', 'ps', 'who', 'vm_stat', 'df'];

export interface CommandSpy {
  /** The directory to put first in PATH. */
  readonly dir: string;
  /** The commands run so far, in order. */
  commandsRun(): string[];
}

export function makeCommandSpy(): CommandSpy {
  const dir = mkdtempSync(join(tmpdir(), 'provisioner-command-spy-'));
  const log = join(dir, 'run.log');
  writeFileSync(log, '');
  for (const command of COMMANDS) {
    const file = join(dir, command);
    writeFileSync(file, `#!/bin/sh\necho ${command} >> '${log}'\nexit 1\n`);
    chmodSync(file, 0o755);
  }
  return {
    dir,
    commandsRun: () => readFileSync(log, 'utf8').split('\n').filter(Boolean),
  };
}
