// The `imagetrust` command: parses arguments, lazily loads the command group, maps error codes to exit codes.
import { Command, Option } from 'commander';
import { ImageTrustError, toImageTrustError } from '../errors/index.ts';

const program = new Command('imagetrust')
  .description('Keeps the chain of trust of OS and container images, from source media to use.')
  .version('0.1.0')
  .showHelpAfterError()
  .configureHelp({ sortSubcommands: true });

/** Options every command that opens the local store accepts. */
export function addStoreOptions(command: Command): Command {
  return command
    .option(
      '-c, --config <file>',
      'config file (default: ./imagetrust.yaml if present, or $IMAGETRUST_CONFIG)',
    )
    .option(
      '--data-dir <dir>',
      'where SQLite and blobs live (default ./imagetrust-data; $IMAGETRUST_DATA_DIR)',
    )
    .option(
      '--database <url>',
      'metadata database: sqlite:PATH or postgres://USER@HOST:PORT/DB ($IMAGETRUST_DATABASE)',
    );
}

addStoreOptions(
  program
    .command('serve')
    .description('Run the Glance v2-compatible image service with its identity API on one port.')
    .option('--host <address>', 'address to listen on (default 127.0.0.1; $IMAGETRUST_HOST)')
    .addOption(
      new Option('-p, --port <port>', 'port to listen on (default 9292; $IMAGETRUST_PORT)').argParser(Number),
    )
    .option('--tls-cert <file>', 'PEM certificate chain; with --tls-key, serve HTTPS')
    .option('--tls-key <file>', 'PEM private key for --tls-cert')
    .option('--tls-client-ca <file>', 'require client certificates signed by this CA bundle')
    .option('--allow-insecure-http', 'allow plain HTTP on a non-loopback address (only behind a TLS proxy)')
    .option('--public-url <url>', 'base URL to advertise in the service catalog (default: from each request)')
    .addOption(
      new Option('--image-size-cap <bytes>', 'largest image accepted, in bytes (default 1 TiB)').argParser(
        Number,
      ),
    )
    .addOption(
      new Option('--log-level <level>', 'log level').choices([
        'fatal',
        'error',
        'warn',
        'info',
        'debug',
        'trace',
        'silent',
      ]),
    ),
).action(async (options) => (await import('./serve.ts')).runServe(options));

const user = program
  .command('user')
  .description('Manage users in the local identity store (like keystone-manage).');
addStoreOptions(user.command('create <name>').description('Create a user.'))
  .option('--password <password>', 'the password (prefer --password-file or $IMAGETRUST_USER_PASSWORD)')
  .option('--password-file <file>', 'read the password from the first line of this file')
  .option('--project <project>', 'default project (name or id)')
  .option('--email <email>', 'email address')
  .option('--format <format>', 'text or json', 'text')
  .action(async (name, options) => (await import('./identity.ts')).createUser(name, options));
addStoreOptions(user.command('list').description('List users.'))
  .option('--format <format>', 'text or json', 'text')
  .action(async (options) => (await import('./identity.ts')).listUsers(options));
addStoreOptions(user.command('set-password <user>').description("Change a user's password."))
  .option('--password <password>', 'the new password')
  .option('--password-file <file>', 'read the new password from this file')
  .action(async (name, options) => (await import('./identity.ts')).setPassword(name, options));

const project = program.command('project').description('Manage projects in the local identity store.');
addStoreOptions(project.command('create <name>').description('Create a project.'))
  .option('--description <text>', 'description', '')
  .option('--format <format>', 'text or json', 'text')
  .action(async (name, options) => (await import('./identity.ts')).createProject(name, options));
addStoreOptions(project.command('list').description('List projects.'))
  .option('--format <format>', 'text or json', 'text')
  .action(async (options) => (await import('./identity.ts')).listProjects(options));

const role = program
  .command('role')
  .description('Manage roles and role assignments in the local identity store.');
addStoreOptions(
  role.command('add <role>').description('Grant ROLE (admin, member, reader, ...) to a user on a project.'),
)
  .requiredOption('--user <user>', 'user name or id')
  .requiredOption('--project <project>', 'project name or id')
  .action(async (roleName, options) => (await import('./identity.ts')).addRole(roleName, options));
addStoreOptions(role.command('list').description('List roles, or with --user and --project the assignments.'))
  .option('--user <user>', 'user name or id')
  .option('--project <project>', 'project name or id')
  .option('--format <format>', 'text or json', 'text')
  .action(async (options) => (await import('./identity.ts')).listRoles(options));

try {
  await program.parseAsync(process.argv);
} catch (thrown) {
  const error = toImageTrustError(thrown);
  process.stderr.write(
    `imagetrust: ${error.message}${error instanceof ImageTrustError ? ` [${error.code}]` : ''}\n`,
  );
  if (error.code === 'INTERNAL' && process.env.IMAGETRUST_DEBUG) console.error(error.cause);
  process.exitCode = error.exitCode;
}
