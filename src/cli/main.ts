// The `imagetrust` entry: parses with the command tree, prints any failure as one line
// `imagetrust: <message> [CODE]` (and for a usage error a hint, never the whole help), exits with the
// code's exit status.
import { type Command, CommanderError } from 'commander';
import { commandPath } from './command-tree.ts';
import { toCommandEnd } from './failure.ts';
import { createProgram } from './program.ts';

const program = createProgram();
/** The command being parsed or run, for the hint after a usage error. */
let current: Command = program;

function everyCommand(command: Command): Command[] {
  return [command, ...command.commands.flatMap(everyCommand)];
}

for (const command of everyCommand(program)) {
  // commander's parse errors come back here as exceptions and are printed below in our form.
  command.exitOverride((error) => {
    current = command;
    throw error;
  });
  command.configureOutput({ outputError: () => {}, writeErr: () => {} });
}
program.hook('preAction', (_root, action) => {
  current = action;
});
program.on('option:version', () => {
  throw new CommanderError(0, 'imagetrust.version', 'version');
});

try {
  await program.parseAsync(process.argv);
} catch (thrown) {
  if (thrown instanceof CommanderError && thrown.code === 'imagetrust.version') {
    process.stdout.write((await import('./version.ts')).versionText());
  }
  const end = toCommandEnd(thrown, commandPath(current));
  if (end.kind === 'done') process.exitCode = end.exitCode;
  else {
    const { error, hint } = end;
    // One line whatever the message holds (OpenSSL's errors carry newlines), so scripts can parse it.
    const message = error.message.replace(/\s*\n\s*/g, ' ').trim();
    process.stderr.write(`imagetrust: ${message} [${error.code}]\n${hint ? `${hint}\n` : ''}`);
    if (error.code === 'INTERNAL' && process.env.IMAGETRUST_DEBUG) console.error(error.cause);
    process.exitCode = error.exitCode;
  }
}
