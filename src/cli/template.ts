import { ValidationError } from '../errors/index.ts';
import {
  lintTemplate,
  type TemplateLintResult,
  toTemplateLintJson,
  toTemplateLintSarif,
  toTemplateLintText,
} from '../pipeline/template/index.ts';
import { readTextOrReason } from './read-text.ts';

const FORMATS = ['text', 'json', 'sarif'];
// Kept in step with program.version in main.ts, which this module must not import (it runs the CLI).
const TOOL_VERSION = '0.1.0';

function lintFile(file: string): TemplateLintResult {
  const read = readTextOrReason(file);
  if ('reason' in read) {
    const { reason } = read;
    return {
      file,
      findings: [
        {
          rule: 'TDL-XML',
          severity: 'error',
          path: '/',
          line: 1,
          column: 1,
          message: `Cannot read ${file}: ${reason}`,
          fix: 'Check the path and its permissions.',
        },
      ],
    };
  }
  return { file, findings: lintTemplate(read.text).findings };
}

export async function runTemplateLint(files: string[], options: { format: string }): Promise<void> {
  const format = options.format ?? 'text';
  if (!FORMATS.includes(format)) {
    throw new ValidationError('BAD_REQUEST', `--format must be text, json or sarif, not ${format}`);
  }
  const results = files.map(lintFile);
  const all = results.flatMap((result) => result.findings);
  const errors = all.filter((f) => f.severity === 'error').length;
  if (format === 'json') {
    process.stdout.write(`${JSON.stringify(toTemplateLintJson(results), null, 2)}\n`);
  } else if (format === 'sarif') {
    process.stdout.write(`${JSON.stringify(toTemplateLintSarif(results, TOOL_VERSION), null, 2)}\n`);
  } else {
    const warnings = all.filter((f) => f.severity === 'warning').length;
    const body = toTemplateLintText(results);
    process.stderr.write(
      `${body ? `${body}\n` : ''}${errors} error(s), ${warnings} warning(s) in ${files.length} file(s)\n`,
    );
  }
  if (errors > 0) process.exitCode = 1;
}
