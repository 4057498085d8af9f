// `imagetrust sysprep`: parse the options, run the sysprep service, print exactly what changed.
import { ImageTrustError } from '../errors/index.ts';
import { SYSPREP_OPERATIONS, type SysprepResult, sysprepImage } from '../pipeline/sysprep/index.ts';
import { printResult } from './output.ts';

export interface SysprepCliOptions {
  operations?: string;
  listOperations?: boolean;
  dryRun?: boolean;
  force?: boolean;
  user: string;
  disableUnits: string;
  format: string;
}

function splitList(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

function toText(result: SysprepResult): string {
  const lines = result.changes.map((change) => `${change.op}: ${change.action} ${change.path}`);
  const summary = `${result.changes.length} change(s)${result.dryRun ? ' would be made (dry run)' : ' made'}`;
  return [...lines, summary].join('\n');
}

export async function runSysprep(image: string | undefined, options: SysprepCliOptions): Promise<void> {
  if (options.listOperations) {
    const ops = SYSPREP_OPERATIONS.map(({ name, defaultEnabled, description }) => ({
      name,
      defaultEnabled,
      description,
    }));
    if (options.format !== 'text') printResult(ops, options);
    else
      for (const op of ops)
        process.stdout.write(`${op.name}${op.defaultEnabled ? ' *' : ''}\t${op.description}\n`);
    return;
  }
  if (image === undefined) {
    throw new ImageTrustError('USAGE', 'Name the image to sysprep (or pass --list-operations).');
  }
  const result = await sysprepImage(image, {
    operations: options.operations === undefined ? undefined : splitList(options.operations),
    dryRun: options.dryRun ?? false,
    force: options.force ?? false,
    users: splitList(options.user),
    units: splitList(options.disableUnits),
  });
  if (options.format !== 'text') {
    const changes = result.changes.map(({ op, action, path, reason }) => ({ op, action, path, reason }));
    printResult({ ...result, changes }, options);
  } else {
    // The change list is the command's result, so it goes to stdout where scripts can read it.
    process.stdout.write(`${toText(result)}\n`);
  }
}
