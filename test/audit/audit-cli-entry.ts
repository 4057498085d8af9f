// Until main.ts registers the audit group, the CLI tests run this entry: the same commander setup,
// with only the audit commands and main.ts's store options and error-to-exit-code mapping.
import { Command } from 'commander';
import { registerAuditCommands } from '../../src/cli/audit.ts';
import { ImageTrustError, toImageTrustError } from '../../src/errors/index.ts';

const program = new Command('imagetrust');
registerAuditCommands(program, (command) =>
  command
    .option('-c, --config <file>', 'config file')
    .option('--data-dir <dir>', 'data directory')
    .option('--database <url>', 'metadata database'),
);
try {
  await program.parseAsync(process.argv);
} catch (thrown) {
  const error = toImageTrustError(thrown);
  process.stderr.write(
    `imagetrust: ${error.message}${error instanceof ImageTrustError ? ` [${error.code}]` : ''}\n`,
  );
  process.exitCode = error.exitCode;
}
