// `imagetrust man`: the imagetrust(1) manual page in roff, generated from the commander tree, so it
// lists every command with its options, output formats and exit codes.
import type { Command } from 'commander';
import { commandPath, EXIT, exitsOf, leafCommands, rootOf } from './command-tree.ts';
import { outputSpecOf } from './output.ts';
import { readPackageVersion } from './version.ts';

/** Escapes text for roff: backslashes, hyphens, and a leading dot or quote that would start a request. */
export function roff(text: string): string {
  return text
    .replace(/\\/g, '\\e')
    .replace(/-/g, '\\-')
    .replace(/^([.'])/gm, '\\&$1');
}

/** What each exit code means, in one line; docs/cli.md says the same at length. */
export const EXIT_MEANINGS: Record<number, string> = {
  [EXIT.OK]: 'success',
  [EXIT.NO]: 'the answer is no: rejected, denied, a failed check, findings at or above the threshold',
  [EXIT.USAGE]: 'usage error: unknown command or option, missing or invalid argument',
  [EXIT.AUTH]: 'authentication or authorization failed',
  [EXIT.NOT_FOUND]: 'the resource does not exist or is not visible',
  [EXIT.UNVERIFIED]: 'a signature or certificate did not verify',
  [EXIT.REFUSED]: 'refused by policy: an obsolete image, a rejected container image',
  [EXIT.DATA_ERR]: 'corrupt or unsupported input (EX_DATAERR)',
  [EXIT.NO_INPUT]: 'an input file does not exist or cannot be read (EX_NOINPUT)',
  [EXIT.UNAVAILABLE]: 'the server or registry cannot be reached (EX_UNAVAILABLE)',
  [EXIT.SOFTWARE]: 'internal error, a bug (EX_SOFTWARE)',
  [EXIT.CANT_CREATE]: 'an output file or directory cannot be created or written (EX_CANTCREAT)',
  [EXIT.IO_ERR]: 'storage full or a transfer cut short (EX_IOERR)',
  [EXIT.TEMP_FAIL]: 'the server is busy; retry later (EX_TEMPFAIL)',
  [EXIT.PROTOCOL]: 'TLS failed: untrusted certificate, or the peer does not speak TLS (EX_PROTOCOL)',
  [EXIT.CONFIG]: 'invalid configuration (EX_CONFIG)',
};

function section(command: Command): string[] {
  const help = command.createHelp();
  const lines = [`.SS ${roff(commandPath(command))}`, `.B ${roff(help.commandUsage(command))}`, '.PP'];
  lines.push(roff(command.description()));
  for (const option of help.visibleOptions(command)) {
    lines.push('.TP', `.B ${roff(option.flags)}`, roff(help.optionDescription(option)));
  }
  const output = outputSpecOf(command);
  if (output)
    lines.push('.PP', `Formats: ${roff(output.formats.join(', '))} (default ${output.formats[0]}).`);
  lines.push('.PP', `Exit status: ${exitsOf(command).join(', ')}.`);
  return lines;
}

/** The whole page. */
export function manPage(root: Command): string {
  const version = readPackageVersion();
  const lines = [
    `.TH IMAGETRUST 1 "" "imagetrust ${version}" "User Commands"`,
    '.SH NAME',
    `imagetrust \\- ${roff(root.description())}`,
    '.SH SYNOPSIS',
    '.B imagetrust',
    '.I command',
    '[\\fIoptions\\fR]',
    '.SH DESCRIPTION',
    'Errors print one line, \\fBimagetrust: \\fImessage\\fB [\\fICODE\\fB]\\fR, on standard error and exit with',
    "the code's exit status. Commands that print data take \\fB\\-f\\fR/\\fB\\-\\-format\\fR",
    '\\fBtable\\fR|\\fBvalue\\fR|\\fBjson\\fR|\\fByaml\\fR and, where there are columns, \\fB\\-c\\fR/\\fB\\-\\-column\\fR.',
    '.SH COMMANDS',
    ...leafCommands(root).flatMap(section),
    '.SH EXIT STATUS',
    ...Object.entries(EXIT_MEANINGS).flatMap(([code, meaning]) => ['.TP', `.B ${code}`, roff(meaning)]),
    '.SH SEE ALSO',
    '\\fBopenstack\\fR(1), \\fBskopeo\\fR(1), \\fBvirt\\-sysprep\\fR(1)',
  ];
  return `${lines.join('\n')}\n`;
}

export function runMan(command: Command): void {
  process.stdout.write(manPage(rootOf(command)));
}
