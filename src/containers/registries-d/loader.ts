// The I/O edge of registries.d: reading every `.yaml` file of the directory (a missing directory is empty).
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { PolicyError } from '../../errors/index.ts';
import { goFileErrorText } from '../policy/index.ts';
import { mergeRegistriesFiles, type RegistriesConfig, type RegistriesFile } from './config.ts';

/** Reads and merges a registries.d directory as c/image does. */
export async function readRegistriesDir(dir: string): Promise<RegistriesConfig> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { docker: new Map() };
    throw new PolicyError('POLICY_INVALID', goFileErrorText(dir, error), { cause: error });
  }
  const files: RegistriesFile[] = [];
  for (const name of names.filter((n) => n.endsWith('.yaml')).sort()) {
    const file = path.join(dir, name);
    try {
      files.push({ path: file, text: await readFile(file, 'utf8') });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw new PolicyError('POLICY_INVALID', goFileErrorText(file, error), { cause: error });
    }
  }
  return mergeRegistriesFiles(files);
}
