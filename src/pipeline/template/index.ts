// The template domain's door: Oz TDL parsing, Oz's validation rules, hardening lint and report formats.
export { type HardeningOptions, lintTemplateHardening, rootPasswordProblem } from './harden.ts';
export { type LintTemplateOptions, lintTemplate, readOzTemplate } from './lint.ts';
export {
  type TemplateLintResult,
  toTemplateLintJson,
  toTemplateLintSarif,
  toTemplateLintText,
} from './report.ts';
export { TEMPLATE_RULES } from './rules.ts';
export type {
  FindingSeverity,
  Located,
  OzTemplate,
  TemplateCommand,
  TemplateFile,
  TemplateFinding,
  TemplateInstall,
  TemplateLocation,
  TemplatePackage,
  TemplateRepository,
  TemplateRule,
} from './types.ts';
export { parseDiskSize, parseOzBoolean, type ValidateOptions, validateOzTemplate } from './validate.ts';
