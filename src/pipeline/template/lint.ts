// One entry for linting a template's text: XML well-formedness, then Oz's rules, then hardening.
import { type HardeningOptions, lintTemplateHardening } from './harden.ts';
import type { OzTemplate, TemplateFinding } from './types.ts';
import { type ValidateOptions, validateOzTemplate } from './validate.ts';
import { parseXml } from './xml.ts';

export type LintTemplateOptions = ValidateOptions & HardeningOptions;

/** Findings for one template text, sorted by position; `template` is absent when the XML is broken. */
export function lintTemplate(
  text: string,
  options: LintTemplateOptions = {},
): { template?: OzTemplate; findings: TemplateFinding[] } {
  const parsed = parseXml(text);
  if (!parsed.ok) {
    const { message, line, column } = parsed.problem;
    return {
      findings: [
        {
          rule: 'TDL-XML',
          severity: 'error',
          path: '/',
          line,
          column,
          message,
          fix: 'Fix the XML; DOCTYPE and entities are never accepted.',
        },
      ],
    };
  }
  const { template, findings } = validateOzTemplate(parsed.root, options);
  // Hardening on a template Oz itself refuses at the root would only add noise.
  if (parsed.root.name === 'template') findings.push(...lintTemplateHardening(template, options));
  findings.sort((a, b) => a.line - b.line || a.column - b.column);
  return { template, findings };
}

/** Parses a template for callers that need the typed value; findings still say what is wrong. */
export function readOzTemplate(text: string, options: ValidateOptions = {}) {
  const parsed = parseXml(text);
  if (!parsed.ok) return { template: undefined, findings: lintTemplate(text, options).findings };
  return validateOzTemplate(parsed.root, options);
}
