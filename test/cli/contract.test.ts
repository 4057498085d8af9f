// The CLI contract is the commander tree: docs/cli.md must list every command with the exit codes and
// formats the tree declares, every exit code the catalogue uses, and every data command must offer
// openstack's four formats.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { COMMAND_EXITS, commandPath, EXIT, exitsOf, leafCommands } from '../../src/cli/command-tree.ts';
import { EXIT_MEANINGS } from '../../src/cli/man.ts';
import { DATA_FORMATS, outputSpecOf } from '../../src/cli/output.ts';
import { createProgram } from '../../src/cli/program.ts';
import { ERROR_CATALOGUE } from '../../src/errors/index.ts';

const docs = readFileSync(new URL('../../docs/cli.md', import.meta.url), 'utf8');
const leaves = leafCommands(createProgram());

/** The rows of the table that follows `heading` in docs/cli.md, as arrays of cells. */
function tableAfter(heading: string): string[][] {
  const section = docs.slice(docs.indexOf(heading));
  const rows = section
    .split('\n## ')[0]
    .split('\n')
    .filter((line) => /^\| [^-]/.test(line));
  return rows.slice(1).map((row) =>
    row
      .slice(2, -2)
      .split(' | ')
      .map((cell) => cell.trim()),
  );
}

describe('CLI contract', () => {
  it('declares exit codes for every command, and only for commands that exist', () => {
    const paths = leaves.map((command) => commandPath(command).replace(/^imagetrust /, ''));
    assert.deepEqual([...paths].sort(), Object.keys(COMMAND_EXITS).sort());
  });

  it('lists every command in docs/cli.md with its exit codes, formats and columns', () => {
    const documented = tableAfter('## Commands');
    const expected = leaves.map((command) => {
      const output = outputSpecOf(command);
      return [
        `\`${commandPath(command)}\``,
        exitsOf(command).join(', '),
        output ? output.formats.join(', ') : '—',
        output?.columns ? 'columns' : '—',
      ];
    });
    assert.deepEqual(documented, expected);
  });

  it('documents every exit code in docs/cli.md and the man page, and the catalogue uses no other', () => {
    const documented = tableAfter('## Exit codes').map((row) => Number(row[0]));
    const codes = Object.values(EXIT).sort((a, b) => a - b);
    assert.deepEqual(documented, codes);
    assert.deepEqual(Object.keys(EXIT_MEANINGS).map(Number), codes);
    for (const [code, entry] of Object.entries(ERROR_CATALOGUE)) {
      assert.ok((codes as number[]).includes(entry.exit), `${code} exits ${entry.exit}`);
    }
    for (const command of leaves) {
      for (const exit of exitsOf(command)) {
        assert.ok((codes as number[]).includes(exit), `${commandPath(command)} ${exit}`);
      }
    }
  });

  it('offers table, value, json and yaml on every command that prints data', () => {
    for (const command of leaves) {
      const output = outputSpecOf(command);
      if (!output) continue;
      for (const format of DATA_FORMATS) assert.ok(output.formats.includes(format), commandPath(command));
    }
  });

  it('keeps exit 70 for bugs: no catalogue code a user can cause maps to INTERNAL’s exit', () => {
    const internal = Object.entries(ERROR_CATALOGUE).filter(([, entry]) => entry.exit === EXIT.SOFTWARE);
    assert.deepEqual(internal.map(([code]) => code).sort(), ['INTERNAL', 'SECRET_CORRUPT']);
  });
});
