// Decides actions as oslo.policy's Enforcer does: in-code defaults under a policy file, policy.d files
// layered on top per rule, the `default` rule for unknown names, and reloading when a file changes.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, ImageTrustError } from '../../errors/index.ts';
import type { RuleDefault } from '../default-rules.ts';
import type { Check, PolicyCredentials, PolicyTarget } from './checks.ts';
import { type LoadedRule, loadPolicyText } from './files.ts';
import { parseRule } from './parser.ts';
import { PythonError } from './python.ts';

export interface PolicyChange {
  /** The files the rules now come from, policy file first, then policy.d files in order. */
  files: string[];
  /** sha256 over the names and contents of those files. */
  digest: string;
}

export interface PolicyEnforcerOptions {
  defaults: readonly RuleDefault[];
  /** YAML or JSON policy file; a missing file means the defaults apply, as in oslo. */
  policyFile?: string;
  /** policy.d directories; relative ones are resolved next to the policy file (or the working directory). */
  policyDirs?: string[];
  /** The rule used for names no rule defines (oslo's policy_default_rule); '' turns the fallback off. */
  defaultRule?: string;
  onChange?: (info: PolicyChange) => void;
  onError?: (error: ImageTrustError) => void;
  /** Milliseconds clock for the once-a-second change check. */
  now?: () => number;
}

/** The outcome of one decision; `error` is set when oslo would have raised instead of answering. */
export interface PolicyDecision {
  allowed: boolean;
  error?: string;
}

interface RuleSet {
  rules: Map<string, Check>;
  files: string[];
  digest: string;
  /** What the files looked like (mtime and size per path), to notice a change without reading them. */
  stamp: string;
}

export class PolicyEnforcer {
  readonly #defaults: readonly RuleDefault[];
  readonly #defaultChecks: Map<string, Check>;
  readonly #policyFile?: string;
  readonly #policyDirs: string[];
  readonly #defaultRule: string;
  readonly #onChange?: (info: PolicyChange) => void;
  readonly #onError?: (error: ImageTrustError) => void;
  readonly #now: () => number;
  #current: RuleSet;
  #lastCheck: number;
  readonly #resolve = (name: string): Check | undefined => this.#lookup(name);

  constructor(options: PolicyEnforcerOptions) {
    this.#defaults = options.defaults;
    this.#defaultChecks = new Map(options.defaults.map((d) => [d.name, parseRule(d.check)]));
    this.#policyFile = options.policyFile === undefined ? undefined : path.resolve(options.policyFile);
    const base = this.#policyFile ? path.dirname(this.#policyFile) : process.cwd();
    this.#policyDirs = (options.policyDirs ?? []).map((dir) => path.resolve(base, dir));
    this.#defaultRule = options.defaultRule ?? 'default';
    this.#onChange = options.onChange;
    this.#onError = options.onError;
    // Only paces the re-reading of policy files: a monotonic clock, unaffected by wall-clock jumps.
    this.#now = options.now ?? (() => performance.now());
    this.#current = this.#load();
    this.#lastCheck = this.#now();
  }

  /** May `credentials` do `rule` on `target`? Unknown names fall back to the default rule, else deny. */
  authorize(rule: string, target: PolicyTarget, credentials: PolicyCredentials): boolean {
    return this.decide(rule, target, credentials).allowed;
  }

  /** Like authorize, and tells when oslo would have raised (a bad format string, a cycle): that is a deny. */
  decide(rule: string, target: PolicyTarget, credentials: PolicyCredentials): PolicyDecision {
    this.#maybeReload();
    if (this.#current.rules.size === 0) return { allowed: false };
    const check = this.#lookup(rule);
    if (check === undefined) return { allowed: false };
    // oslo copies system_scope into creds['system'] before checking.
    const creds = isTruthy(credentials.system_scope)
      ? { ...credentials, system: credentials.system_scope }
      : credentials;
    try {
      return { allowed: check.evaluate(target, creds, this.#resolve, new Set([check])) };
    } catch (error) {
      if (error instanceof PythonError) return { allowed: false, error: error.message };
      throw error;
    }
  }

  /** The effective rules, each as oslo prints it (str of the check; '' for allow). */
  rules(): ReadonlyMap<string, string> {
    this.#maybeReload();
    const out = new Map<string, string>();
    for (const [name, check] of this.#current.rules)
      out.set(name, check.type === 'true' ? '' : check.toString());
    return out;
  }

  /** The files and digest the current rules come from. */
  source(): PolicyChange {
    return { files: [...this.#current.files], digest: this.#current.digest };
  }

  /** Reads the files again now; on a parse error keeps the rules in force and reports through onError. */
  reload(): boolean {
    this.#lastCheck = this.#now();
    let next: RuleSet;
    try {
      next = this.#load();
    } catch (error) {
      const wrapped =
        error instanceof ImageTrustError ? error : new ConfigError(String(error), { cause: error });
      if (this.#onError) this.#onError(wrapped);
      // A failed load is remembered by its stamp so the same broken file is not re-read every second.
      this.#current = { ...this.#current, stamp: this.#stamp() };
      return false;
    }
    const changed = next.digest !== this.#current.digest;
    this.#current = next;
    if (changed) this.#onChange?.({ files: [...next.files], digest: next.digest });
    return changed;
  }

  #maybeReload(): void {
    if (this.#policyFile === undefined && this.#policyDirs.length === 0) return;
    const now = this.#now();
    if (now - this.#lastCheck < 1000) return;
    this.#lastCheck = now;
    if (this.#stamp() !== this.#current.stamp) this.reload();
  }

  // Rules.__missing__: an unknown name gets the default rule, if that rule exists.
  #lookup(name: string): Check | undefined {
    const rules = this.#current.rules;
    const found = rules.get(name);
    if (found !== undefined) return found;
    if (!this.#defaultRule) return undefined;
    return rules.get(this.#defaultRule);
  }

  #files(): string[] {
    const files: string[] = [];
    if (this.#policyFile && isFile(this.#policyFile)) files.push(this.#policyFile);
    for (const dir of this.#policyDirs) {
      let names: string[];
      try {
        if (!statSync(dir).isDirectory()) throw new ConfigError(`${dir} is not a directory (policy_dirs)`);
        names = readdirSync(dir);
      } catch (error) {
        if (error instanceof ConfigError) throw error;
        continue;
      }
      // Python sorts by code point; skip dotfiles and subdirectories as oslo's os.walk does.
      for (const name of names.sort(comparePython)) {
        if (name.startsWith('.')) continue;
        const file = path.join(dir, name);
        if (isFile(file)) files.push(file);
      }
    }
    return files;
  }

  #stamp(): string {
    try {
      return this.#files()
        .map((file) => {
          const stat = statSync(file);
          return `${file}\0${stat.mtimeMs}\0${stat.size}`;
        })
        .join('\n');
    } catch {
      return 'unreadable';
    }
  }

  #load(): RuleSet {
    const files = this.#files();
    const rules = new Map<string, Check>();
    const hash = createHash('sha256');
    const stamps: string[] = [];
    for (const file of files) {
      const stat = statSync(file);
      stamps.push(`${file}\0${stat.mtimeMs}\0${stat.size}`);
      const text = readFileSync(file, 'utf8');
      hash.update(`${file}\0${text}\0`);
      const loaded: Map<string, LoadedRule> = loadPolicyText(text, file);
      // The policy file replaces nothing but itself; policy.d files update rule by rule.
      for (const [name, rule] of loaded) rules.set(name, rule.check);
    }
    for (const [name, check] of this.#defaultChecks) if (!rules.has(name)) rules.set(name, check);
    return { rules, files, digest: hash.digest('hex'), stamp: stamps.join('\n') };
  }

  /** The registered defaults this enforcer was built with. */
  defaults(): readonly RuleDefault[] {
    return this.#defaults;
  }
}

function isFile(file: string): boolean {
  try {
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

function comparePython(a: string, b: string): number {
  const x = [...a].map((c) => c.codePointAt(0) ?? 0);
  const y = [...b].map((c) => c.codePointAt(0) ?? 0);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}

function isTruthy(value: unknown): boolean {
  if (value === undefined || value === null || value === false || value === 0 || value === '') return false;
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === 'object') return Object.keys(value).length > 0;
  return true;
}
