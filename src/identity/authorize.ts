// Every API action is a named rule here, and only here, so a policy-file engine can later replace
// this table without touching the routes. Rules see the caller's credentials and the target.
import { AuthError } from '../errors/index.ts';
import type { Credentials } from './model.ts';

/** What a rule may look at besides the caller: the owning project of the thing acted on, if any. */
export interface RuleTarget {
  projectId?: string | null;
  userId?: string | null;
  /** For member updates: the project whose membership is being changed. */
  memberId?: string | null;
}

type Rule = (c: Credentials, t: RuleTarget) => boolean;

const isAdmin: Rule = (c) => c.isAdmin;
const hasRole =
  (role: string): Rule =>
  (c) =>
    c.roles.includes(role);
const ownsTarget: Rule = (c, t) => c.projectId !== null && t.projectId === c.projectId;
const either =
  (...rules: Rule[]): Rule =>
  (c, t) =>
    rules.some((rule) => rule(c, t));
const both =
  (...rules: Rule[]): Rule =>
  (c, t) =>
    rules.every((rule) => rule(c, t));

const projectReader = either(isAdmin, hasRole('reader'));
// Barbican's secure-RBAC defaults: project-scoped members (admins included, but only in their own
// project) act on their project's secrets; readers get nothing. No ACLs here, so no secret is private.
const projectScopedMember = both((c) => c.projectId !== null, hasRole('member'));
const secretProjectMember = both(ownsTarget, either(hasRole('admin'), hasRole('member')));
const projectMemberOwner = either(isAdmin, both(hasRole('member'), ownsTarget));

/** The default rules, by action name. Visibility of individual images is decided by the catalog. */
export const DEFAULT_RULES = {
  'image:get_images': projectReader,
  'image:get_image': projectReader,
  'image:add_image': projectMemberOwner,
  'image:modify_image': projectMemberOwner,
  'image:delete_image': projectMemberOwner,
  'image:upload_image': projectMemberOwner,
  'image:download_image': projectReader,
  'image:publicize_image': isAdmin,
  'image:communitize_image': projectMemberOwner,
  'image:set_owner': isAdmin,
  'image:deactivate': projectMemberOwner,
  'image:reactivate': projectMemberOwner,
  'image:add_member': projectMemberOwner,
  'image:delete_member': projectMemberOwner,
  'image:get_members': projectReader,
  'image:modify_member': either(isAdmin, (c, t) => c.roles.includes('member') && c.projectId === t.memberId),
  'image:manage_tags': projectMemberOwner,
  'secrets:get': projectScopedMember,
  'secrets:post': projectScopedMember,
  'secret:get': secretProjectMember,
  'secret:decrypt': secretProjectMember,
  'secret:put': secretProjectMember,
  'secret:delete': secretProjectMember,
  // Container decisions: the target is always the caller's own project (their token's scope).
  'containers:get_policy': projectReader,
  'containers:get_keys': projectReader,
  'containers:decide': projectReader,
  'containers:modify_policy': projectMemberOwner,
  'containers:modify_keys': projectMemberOwner,
  'image:set_lifecycle': projectMemberOwner,
  'image:restore_obsolete': isAdmin,
  'image:attach_report': projectMemberOwner,
  'image:request_release': projectMemberOwner,
  'image:get_releases': projectReader,
  'image:decide_release': hasRole('approver'),
  'identity:admin': isAdmin,
  'identity:get_own_user': either(isAdmin, (c, t) => t.userId === c.userId),
} satisfies Record<string, Rule>;

export type Action = keyof typeof DEFAULT_RULES;

export function isAllowed(action: Action, credentials: Credentials, target: RuleTarget = {}): boolean {
  return DEFAULT_RULES[action](credentials, target);
}

/** Throws FORBIDDEN unless the action is allowed; the message names the rule, as Glance's does. */
export function enforce(
  action: Action,
  credentials: Credentials,
  target: RuleTarget = {},
  message?: string,
): void {
  if (!isAllowed(action, credentials, target)) {
    throw new AuthError(
      'FORBIDDEN',
      message ?? `You are not authorized to complete ${action.split(':')[1]} action.`,
    );
  }
}

/** Authorization as services receive it, so each server can run its own policy. */
export interface Authorizer {
  isAllowed(action: Action, credentials: Credentials, target?: RuleTarget): boolean;
  enforce(action: Action, credentials: Credentials, target?: RuleTarget, message?: string): void;
}

export const defaultAuthorizer: Authorizer = { isAllowed, enforce };
