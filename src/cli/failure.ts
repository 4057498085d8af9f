// Turns whatever stopped a command into one coded failure: commander's own parse errors become USAGE,
// a file the user named that cannot be read INPUT_UNREADABLE, one that cannot be made OUTPUT_UNWRITABLE,
// key material OpenSSL cannot decode INPUT_INVALID, a refused or failed connection SERVICE_UNREACHABLE
// or TLS_FAILED. Only what nobody foresaw stays INTERNAL.
import { CommanderError } from 'commander';
import { connectionErrorCode, ImageTrustError, toImageTrustError } from '../errors/index.ts';

/** A command's end: the exit status, and for a failure the line and the hint to print. */
export type CommandEnd =
  | { kind: 'done'; exitCode: number; stdout?: string }
  | { kind: 'failed'; error: ImageTrustError; hint?: string };

// Errors that mean "this path cannot be used", as the system reports them for a file the user named.
const UNREADABLE_ERRNO = new Set(['ENOENT', 'EACCES', 'EISDIR', 'ENOTDIR', 'ELOOP', 'ENAMETOOLONG', 'EPERM']);
// Calls that only make or change paths: failing, they name an output, never an input. (open is both.)
const WRITING_SYSCALLS = new Set([
  'mkdir',
  'mkdtemp',
  'rename',
  'link',
  'symlink',
  'copyfile',
  'rmdir',
  'chmod',
]);

/** commander's message without its "error: " prefix, ours are "imagetrust: <message> [CODE]". */
function commanderMessage(error: CommanderError): string {
  return error.message.replace(/^error: /, '');
}

/** A path the user named for output that cannot be made or written (exit 73). */
export function outputUnwritable(file: string, error: NodeJS.ErrnoException): ImageTrustError {
  return new ImageTrustError('OUTPUT_UNWRITABLE', `Cannot write ${file}: ${error.code ?? error.message}`, {
    cause: error,
  });
}

function fromSystemError(error: NodeJS.ErrnoException): ImageTrustError | undefined {
  const network = connectionErrorCode(error);
  if (network) return new ImageTrustError(network, error.message, { cause: error });
  if (typeof error.code === 'string' && UNREADABLE_ERRNO.has(error.code) && typeof error.path === 'string') {
    if (WRITING_SYSCALLS.has(error.syscall ?? '')) return outputUnwritable(error.path, error);
    return new ImageTrustError('INPUT_UNREADABLE', `Cannot read ${error.path}: ${error.code}`, {
      cause: error,
    });
  }
  // OpenSSL decoders fail this way on a PEM or DER that is corrupt or of a kind they do not know.
  if (typeof error.code === 'string' && error.code.startsWith('ERR_OSSL_')) {
    return new ImageTrustError('INPUT_INVALID', `Unusable key or certificate: ${error.message}`, {
      cause: error,
    });
  }
  return undefined;
}

/**
 * How a command ended. `commandPath` names the command that was running (or being parsed), for the
 * hint after a usage error.
 */
export function toCommandEnd(thrown: unknown, commandPath: string): CommandEnd {
  const hint = `see '${commandPath} --help'`;
  if (thrown instanceof CommanderError) {
    // --help and --version end here too, with their own exit status 0.
    if (thrown.exitCode === 0) return { kind: 'done', exitCode: 0 };
    const message = thrown.code === 'commander.help' ? 'a command is missing' : commanderMessage(thrown);
    return { kind: 'failed', error: new ImageTrustError('USAGE', message, { cause: thrown }), hint };
  }
  const error =
    thrown instanceof ImageTrustError
      ? thrown
      : (thrown instanceof Error && fromSystemError(thrown as NodeJS.ErrnoException)) ||
        toImageTrustError(thrown);
  return { kind: 'failed', error, ...(error.exitCode === 2 ? { hint } : {}) };
}
