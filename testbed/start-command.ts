// What `npm start` runs, read from package.json's script, for the build (which fills its compile
// cache), the bench and the tests (which start the function as it does).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export interface StartCommand {
  /** Node's arguments: the start file (build/start.cjs) and the function it loads, absolute. */
  readonly args: string[];
  /** The compile cache the start file turns on: the `.cache` folder beside it. */
  readonly compileCache: string;
}

/** `node <start file> <function>`, with paths relative to `root`. */
export function npmStartCommand(root: string): StartCommand {
  const packageJson = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    scripts: { start: string };
  };
  const start = packageJson.scripts.start;
  const match = /^node (\S+) (\S+)$/.exec(start);
  if (!match) throw new Error(`npm start is not "node <start file> <function>": ${start}`);
  const [, startFile = '', entry = ''] = match;
  return {
    args: [join(root, startFile), join(root, entry)],
    compileCache: join(root, dirname(startFile), '.cache'),
  };
}
