// Writes the registered defaults as a commented sample policy file, as oslopolicy-sample-generator does.
import type { RuleDefault } from '../default-rules.ts';

function quote(text: string): string {
  return JSON.stringify(text);
}

/** Every default as `# description`, `# METHOD /path` lines and a commented-out `"name": "check"`. */
export function sampleYaml(defaults: readonly RuleDefault[]): string {
  const blocks = defaults.map((rule) => {
    const lines = rule.description.split('\n').map((line) => `# ${line}`.trimEnd());
    for (const operation of rule.operations) lines.push(`# ${operation}`);
    lines.push(`#${quote(rule.name)}: ${quote(rule.check)}`);
    return lines.join('\n');
  });
  return `${blocks.join('\n\n')}\n`;
}
