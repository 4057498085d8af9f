// Plans every selected operation first (so a refusal changes nothing), then applies the plan in order.
import { type ImageFileSystem, openImage, type WritableImageFileSystem } from '../../disk/index.ts';
import { ValidationError } from '../../errors/index.ts';
import { SYSPREP_OPERATIONS } from './operations.ts';
import type { SysprepChange, SysprepContext, SysprepOperation } from './types.ts';

export interface SysprepOptions extends SysprepContext {
  /** Operation names; undefined means every operation with `defaultEnabled`. */
  operations?: readonly string[];
  dryRun: boolean;
  /** Where qcow2 images are converted while they are read or changed. */
  tempDir?: string;
  /** Change a directory tree in place (the builder's image root); images are always changed safely. */
  inPlace?: boolean;
}

export interface SysprepResult {
  image: string;
  dryRun: boolean;
  operations: string[];
  /** What changed (or, on a dry run, what would change), in the order it was applied. */
  changes: SysprepChange[];
}

/**
 * Resolves an `--operations` list as virt-sysprep does: the set starts empty; `name` or `+name` adds an
 * operation, `-name` removes it, `defaults` and `all` (or `-defaults`, `-all`) add or remove groups,
 * in order. Undefined means the default set. An unknown name is BAD_REQUEST.
 */
export function selectOperations(names?: readonly string[]): SysprepOperation[] {
  if (!names) return SYSPREP_OPERATIONS.filter((op) => op.defaultEnabled);
  const selected = new Set<string>();
  for (const item of names) {
    const remove = item.startsWith('-');
    const name = remove || item.startsWith('+') ? item.slice(1) : item;
    const group =
      name === 'defaults'
        ? SYSPREP_OPERATIONS.filter((op) => op.defaultEnabled)
        : name === 'all'
          ? SYSPREP_OPERATIONS
          : SYSPREP_OPERATIONS.filter((op) => op.name === name);
    if (group.length === 0) {
      throw new ValidationError(
        'BAD_REQUEST',
        `--operations: ${JSON.stringify(name)} is not a known operation (see --list-operations)`,
      );
    }
    for (const op of group) {
      if (remove) selected.delete(op.name);
      else selected.add(op.name);
    }
  }
  // Operations always run in their catalogue order, whatever order the list named them in.
  return SYSPREP_OPERATIONS.filter((op) => selected.has(op.name));
}

/** Every change the operations would make, without making any. */
export async function planSysprep(
  fs: ImageFileSystem,
  operations: readonly SysprepOperation[],
  context: SysprepContext,
): Promise<SysprepChange[]> {
  const changes: SysprepChange[] = [];
  // Operations overlap (a removed user's .bash_history is also bash-history's): the first claim wins,
  // so every path is changed once and the report names the operation that changed it.
  const claimed = new Set<string>();
  for (const op of operations) {
    for (const change of await op.plan(fs, context)) {
      if (claimed.has(change.path)) continue;
      claimed.add(change.path);
      changes.push(change);
    }
  }
  return changes;
}

export async function applySysprepChanges(
  fs: WritableImageFileSystem,
  changes: readonly SysprepChange[],
): Promise<void> {
  for (const change of changes) {
    switch (change.action) {
      case 'delete':
      case 'remove-symlink':
        await fs.unlink(change.path);
        break;
      case 'truncate':
        await fs.truncate(change.path, 0);
        break;
      case 'remove-dir':
        await fs.rmdir(change.path);
        break;
      case 'write':
        await fs.writeFile(change.path, change.content);
        break;
    }
  }
}

/**
 * Plans on a read-only view first, so a refusal or a bad name leaves the image untouched (a writable raw
 * mount alone changes superblock bytes); then opens for change, plans again and applies. Any failure
 * while applying drops the changes where the disk layer can (qcow2 is replaced only on success).
 */
export async function sysprepImage(image: string, options: SysprepOptions): Promise<SysprepResult> {
  const operations = selectOperations(options.operations);
  const context: SysprepContext = { users: options.users, units: options.units, force: options.force };
  const names = operations.map((op) => op.name);
  const reader = await openImage(image, { tempDir: options.tempDir });
  let planned: SysprepChange[];
  try {
    planned = await planSysprep(reader, operations, context);
  } finally {
    await reader.close();
  }
  if (options.dryRun || planned.length === 0) {
    return { image, dryRun: options.dryRun, operations: names, changes: planned };
  }
  const fs = await openImage(image, { writable: true, tempDir: options.tempDir, inPlace: options.inPlace });
  let changes: SysprepChange[];
  try {
    changes = await planSysprep(fs, operations, context);
    await applySysprepChanges(fs, changes);
  } catch (error) {
    await fs.discard();
    throw error;
  }
  await fs.close();
  return { image, dryRun: false, operations: names, changes };
}
