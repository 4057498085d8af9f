// `imagetrust template lint`: Oz TDL templates through Oz's validation and the hardening rules.
import { lintTemplate, TEMPLATE_RULES, type TemplateLintResult } from '../pipeline/template/index.ts';
import { printLintReport } from './lint-report.ts';
import type { OutputFlags } from './output.ts';
import { readTextOrReason } from './read-text.ts';

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

export async function runTemplateLint(files: string[], options: OutputFlags): Promise<void> {
  printLintReport(files.map(lintFile), options, {
    rules: TEMPLATE_RULES,
    informationUri: 'https://github.com/clalancette/oz/wiki/Oz-template-description-language',
  });
}
