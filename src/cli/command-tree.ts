// What each command promises besides its options: the exit codes it may end with. The docs table, the
// man page, shell completion and the contract test all read the commander tree through this module.
import type { Command } from 'commander';

/** The exit codes, in the BSD sysexits spirit; docs/cli.md "Exit codes" explains each. */
export const EXIT = {
  OK: 0,
  NO: 1,
  USAGE: 2,
  AUTH: 3,
  NOT_FOUND: 4,
  UNVERIFIED: 5,
  REFUSED: 6,
  DATA_ERR: 65,
  NO_INPUT: 66,
  UNAVAILABLE: 69,
  SOFTWARE: 70,
  CANT_CREATE: 73,
  IO_ERR: 74,
  TEMP_FAIL: 75,
  PROTOCOL: 76,
  CONFIG: 78,
} as const;

/** Every command may succeed, be called wrongly, or fail in a way nobody foresaw. */
const ALWAYS = [EXIT.OK, EXIT.USAGE, EXIT.SOFTWARE];
const {
  NO,
  AUTH,
  NOT_FOUND,
  UNVERIFIED,
  REFUSED,
  DATA_ERR,
  NO_INPUT,
  UNAVAILABLE,
  CANT_CREATE,
  IO_ERR,
  PROTOCOL,
  CONFIG,
} = EXIT;
/** A command that talks to a server: refused credentials, a missing resource, no server, a TLS failure, bad clouds.yaml. */
const REMOTE = [AUTH, NOT_FOUND, UNAVAILABLE, PROTOCOL, CONFIG];
/** A command that opens the local store (configuration, database). */
const STORE = [CONFIG];

/**
 * The exit codes each command may end with besides 0, 2 and 70, by its path under `imagetrust`.
 * The contract test requires an entry for every command and docs/cli.md to list the same.
 */
export const COMMAND_EXITS: Record<string, readonly number[]> = {
  serve: [...STORE, NO_INPUT, IO_ERR],
  'user create': [NO, NOT_FOUND, NO_INPUT, ...STORE],
  'user list': [NOT_FOUND, ...STORE],
  'user set-password': [NOT_FOUND, NO_INPUT, ...STORE],
  'project create': [NO, ...STORE],
  'project list': [NOT_FOUND, ...STORE],
  'role add': [NOT_FOUND, ...STORE],
  'role list': [NOT_FOUND, ...STORE],
  sign: [NO, UNVERIFIED, DATA_ERR, NO_INPUT, IO_ERR, ...REMOTE],
  fetch: [NO, UNVERIFIED, REFUSED, CANT_CREATE, IO_ERR, ...REMOTE],
  'image lifecycle show': REMOTE,
  'image lifecycle set': [NO, REFUSED, ...REMOTE],
  'image report attach': [NO, UNVERIFIED, DATA_ERR, NO_INPUT, ...REMOTE],
  'image report show': REMOTE,
  'image release request': [NO, ...REMOTE],
  'image release list': REMOTE,
  'image release approve': [NO, UNVERIFIED, ...REMOTE],
  'image release reject': [NO, ...REMOTE],
  'audit verify': [NO, NOT_FOUND, DATA_ERR, NO_INPUT, ...STORE],
  'audit proof': [NO, NO_INPUT, CANT_CREATE, ...REMOTE],
  'audit public-key': [...STORE, ...REMOTE],
  'audit verify-proof': [NO, DATA_ERR, NO_INPUT, CANT_CREATE],
  'policy list-defaults': [],
  'policy check': [NO, NO_INPUT, CONFIG],
  'policy lint': [NO],
  'posture scan': [NO, DATA_ERR, NO_INPUT, CONFIG, ...REMOTE],
  'keys generate': [DATA_ERR, NO_INPUT, CANT_CREATE],
  'keys rotate-kek': STORE,
  'keys retire-kek': STORE,
  'blobs reconcile': [NO, ...STORE],
  'blobs migrate': [NO, UNAVAILABLE, ...STORE],
  'containers standalone-sign': [NO],
  'containers standalone-verify': [NO],
  'containers manifest-digest': [NO],
  'containers check': [NO, AUTH, NOT_FOUND, UNVERIFIED, REFUSED, DATA_ERR, NO_INPUT, UNAVAILABLE, PROTOCOL],
  'containers lint': [NO],
  'template lint': [NO],
  'source fetch': [NO, NO_INPUT, UNAVAILABLE, CANT_CREATE, PROTOCOL],
  'source verify': [NO, NO_INPUT],
  build: [NO, UNVERIFIED, DATA_ERR, NO_INPUT, CANT_CREATE, IO_ERR, ...REMOTE],
  sysprep: [NO, DATA_ERR, NO_INPUT],
  scan: [NO, DATA_ERR, NO_INPUT, CONFIG],
  'test-boot': [NO, DATA_ERR, NO_INPUT, UNAVAILABLE, CANT_CREATE, CONFIG],
  completion: [],
  man: [],
};

/** The sorted exit codes of a command: the always-possible ones plus its own. */
export function exitsOf(command: Command): number[] {
  const own = COMMAND_EXITS[commandPath(command).split(' ').slice(1).join(' ')] ?? [];
  return [...new Set([...ALWAYS, ...own])].sort((a, b) => a - b);
}

/** `imagetrust image release list` for that command. */
export function commandPath(command: Command): string {
  const names: string[] = [];
  for (let at: Command | null = command; at; at = at.parent) names.unshift(at.name());
  return names.join(' ');
}

/** The commands that run something (leaves of the tree), depth first in definition order. */
export function leafCommands(root: Command): Command[] {
  return root.commands.flatMap((command) =>
    command.commands.length > 0 ? leafCommands(command) : [command],
  );
}

/** Every command of the tree with subcommands, the root included. */
export function groupCommands(root: Command): Command[] {
  return [root, ...root.commands.filter((c) => c.commands.length > 0).flatMap(groupCommands)];
}

/** The root of the tree a command belongs to. */
export function rootOf(command: Command): Command {
  let at = command;
  while (at.parent) at = at.parent;
  return at;
}
