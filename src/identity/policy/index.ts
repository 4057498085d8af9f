// The oslo.policy rule language: parse, decide (with defaults, policy file and policy.d), lint, sample.
export type { Check, PolicyCredentials, PolicyTarget, RuleResolver } from './checks.ts';
export type { PolicyChange, PolicyDecision, PolicyEnforcerOptions } from './enforcer.ts';
export { PolicyEnforcer } from './enforcer.ts';
export type { PolicyFileEntry } from './files.ts';
export { readPolicyText } from './files.ts';
export type { PolicyFinding, PolicyFindingSeverity, PolicyLintRuleId } from './lint.ts';
export { lintPolicyFile, POLICY_LINT_RULES } from './lint.ts';
export { parseRule } from './parser.ts';
export { PythonFloat, parsePythonJson } from './python.ts';
export { sampleYaml } from './sample.ts';
