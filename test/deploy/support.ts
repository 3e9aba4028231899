import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../..');
export const DEPLOY = resolve(ROOT, 'deploy');

/** A skip reason naming the tool when `command --version`-like probing fails. */
export function toolSkip(command: string, args: string[], install: string): string | false {
  const r = spawnSync(command, args, { stdio: 'ignore' });
  return r.status === 0 ? false : `${command} is not installed (${install})`;
}

const runs = new Map<string, { status: number | null; output: string }>();

/** Runs the aquaml CLI with arguments (once per argument list); returns its exit status and output. */
export function aquaml(args: string[]): { status: number | null; output: string } {
  const key = args.join('\0');
  const known = runs.get(key);
  if (known) return known;
  const r = spawnSync(process.execPath, [resolve(ROOT, 'bin/aquaml.js'), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, NODE_ENV: 'test' },
    timeout: 60_000,
  });
  const result = { status: r.status, output: `${r.stdout}${r.stderr}` };
  runs.set(key, result);
  return result;
}

/** The command names a help text lists under "Commands:". */
function listed(help: string): Set<string> {
  const section = help.split(/^Commands:$/m)[1] ?? '';
  return new Set([...section.matchAll(/^ {2}(\S+)/gm)].map((m) => m[1]!));
}

/**
 * Checks command lines (e.g. "api", "models build-backbone") against the CLI's own help: each word
 * must be a command (or sub-command) it lists. Returns the ones it does not know.
 */
export function unknownCommands(commands: string[][]): string[] {
  const top = aquaml(['--help']);
  if (top.status !== 0) throw new Error(top.output);
  const known = listed(top.output);
  const unknown: string[] = [];
  for (const c of commands) {
    const [first, second] = c.filter((w) => !w.startsWith('-'));
    if (!first || !known.has(first)) {
      unknown.push(c.join(' '));
      continue;
    }
    if (second && !second.includes('/')) {
      const sub = aquaml([first, '--help']);
      if (listed(sub.output).size && !listed(sub.output).has(second)) unknown.push(c.join(' '));
    }
  }
  return unknown;
}

/** Every setting name src/config.ts reads (r.int('PORT', ...), const name = 'AQUAML_...'). */
export function settingNames(): Set<string> {
  const source = readFileSync(join(ROOT, 'src/config.ts'), 'utf8');
  return new Set([
    'NODE_ENV',
    ...[...source.matchAll(/(?:r\.\w+(?:<\w+>)?\(|const name = )\s*'([A-Z][A-Z0-9_]+)'/g)].map(
      (m) => m[1]!,
    ),
  ]);
}
