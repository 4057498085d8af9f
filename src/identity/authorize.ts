// Authorization as services receive it: every API action is a named rule of the oslo.policy language,
// with its in-code default (default-rules.ts) overridden by the operator's policy file. Services take an
// Authorizer, so each server (and each test) runs its own policy.
import { AuthError } from '../errors/index.ts';
import { DEFAULT_RULES } from './default-rules.ts';
import type { Credentials } from './model.ts';
import {
  type PolicyCredentials,
  PolicyEnforcer,
  type PolicyEnforcerOptions,
  type PolicyTarget,
} from './policy/index.ts';

/** A rule name from default-rules.ts. */
export type Action = string;

/** What a rule may look at besides the caller: the owner of the thing acted on, if any. */
export interface RuleTarget {
  /** The project that owns the target (an image's owner, a secret's project). */
  projectId?: string | null;
  /** The user the target belongs to (a user record, a secret's creator). */
  userId?: string | null;
  /** For image member updates: the project whose membership is being changed. */
  memberId?: string | null;
  /** The domain acted on (identity:get_domain and the other domain rules). */
  domainId?: string | null;
  /** An image's visibility, as Glance's image target carries it (`'public':%(visibility)s`). */
  visibility?: string | null;
  /** A secret's read ACL: false when it turned project access off (Barbican's `read_project_access`). */
  readProjectAccess?: boolean | null;
  /** A secret's read ACL lists the caller (the target then has `read: 'read'`, as Barbican's does). */
  listedForRead?: boolean;
}

export interface Authorizer {
  isAllowed(action: Action, credentials: Credentials, target?: RuleTarget): boolean;
  /** Throws FORBIDDEN unless allowed; the message names the action, as Glance's does. */
  enforce(action: Action, credentials: Credentials, target?: RuleTarget, message?: string): void;
}

/**
 * The credentials dict rules see, as keystonemiddleware builds it. Null values are left out, so a
 * check such as `project_id:%(project_id)s` can never match an unscoped token against an unowned target.
 */
export function toPolicyCredentials(credentials: Credentials): PolicyCredentials {
  const out: PolicyCredentials = {
    user_id: credentials.userId,
    user_name: credentials.userName,
    user_domain_id: credentials.domainId,
    roles: credentials.roles,
    is_admin: credentials.isAdmin,
  };
  if (credentials.projectId !== null) {
    out.project_id = credentials.projectId;
    out.project_domain_id = credentials.projectDomainId ?? credentials.domainId;
  }
  // A domain-scoped token's domain, as keystonemiddleware passes it (`domain_id:%(domain_id)s`).
  if (credentials.scopeDomainId) out.domain_id = credentials.scopeDomainId;
  // oslo.context's `system_scope`: `all` for a system-scoped token, so rules can say `system_scope:all`.
  if (credentials.systemScope) out.system_scope = credentials.systemScope;
  if (credentials.projectName !== null) out.project_name = credentials.projectName;
  return out;
}

/**
 * The target dict: `project_id` (also as Glance's `owner`), `user_id`, `member_id`, `domain_id`,
 * `visibility`, and for secrets `read_project_access` and `read`; nulls left out.
 */
export function toPolicyTarget(target: RuleTarget): PolicyTarget {
  const out: PolicyTarget = {};
  if (target.projectId) {
    out.project_id = target.projectId;
    out.owner = target.projectId;
  }
  if (target.userId) out.user_id = target.userId;
  if (target.memberId) out.member_id = target.memberId;
  if (target.domainId) out.domain_id = target.domainId;
  if (target.visibility) out.visibility = target.visibility;
  if (typeof target.readProjectAccess === 'boolean') out.read_project_access = target.readProjectAccess;
  if (target.listedForRead) out.read = 'read';
  return out;
}

export class PolicyAuthorizer implements Authorizer {
  readonly #enforcer: PolicyEnforcer;

  constructor(enforcer: PolicyEnforcer) {
    this.#enforcer = enforcer;
  }

  get enforcer(): PolicyEnforcer {
    return this.#enforcer;
  }

  isAllowed(action: Action, credentials: Credentials, target: RuleTarget = {}): boolean {
    return this.#enforcer.authorize(action, toPolicyTarget(target), toPolicyCredentials(credentials));
  }

  enforce(action: Action, credentials: Credentials, target: RuleTarget = {}, message?: string): void {
    if (!this.isAllowed(action, credentials, target)) {
      throw new AuthError(
        'FORBIDDEN',
        message ?? `You are not authorized to complete ${action.split(':')[1] ?? action} action.`,
      );
    }
  }
}

/** An authorizer over the in-code defaults and, when given, a policy file and policy.d directories. */
export function createAuthorizer(options: Omit<PolicyEnforcerOptions, 'defaults'> = {}): PolicyAuthorizer {
  return new PolicyAuthorizer(new PolicyEnforcer({ defaults: DEFAULT_RULES, ...options }));
}

/** The in-code defaults alone: for services built without a configuration (embedding, unit tests). */
export const defaultAuthorizer: Authorizer = createAuthorizer();
