// What `npm start` runs, read from package.json's script, for the build (which fills its compile
// cache), the bench and the tests (which start the function as it does).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface StartCommand {
  /** NODE_COMPILE_CACHE, absolute. */
  readonly env: Record<string, string>;
  /** Node's arguments: the bundled runtime and the function it loads, absolute. */
  readonly args: string[];
}

/** `NODE_COMPILE_CACHE=<dir> node <runtime> <function>`, with paths relative to `root`. */
export function npmStartCommand(root: string): StartCommand {
  const packageJson = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    scripts: { start: string };
  };
  const start = packageJson.scripts.start;
  const match = /^NODE_COMPILE_CACHE=(\S+) node (\S+) (\S+)$/.exec(start);
  if (!match) throw new Error(`npm start is not "NODE_COMPILE_CACHE=… node … …": ${start}`);
  const [, cache = '', runtime = '', entry = ''] = match;
  return {
    env: { NODE_COMPILE_CACHE: join(root, cache) },
    args: [join(root, runtime), join(root, entry)],
  };
}
