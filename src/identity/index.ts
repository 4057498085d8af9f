// Identity: users, projects, roles, tokens, and the rules that authorize every API action.

export {
  type Action,
  type Authorizer,
  createAuthorizer,
  defaultAuthorizer,
  PolicyAuthorizer,
  type RuleTarget,
} from './authorize.ts';
export { DEFAULT_RULES, type RuleDefault } from './default-rules.ts';
export type {
  DeferredInput,
  GrantRef,
  IdentityDirectory,
  ProjectInput,
  RoleAssignment,
  UserInput,
} from './directory.ts';
export { type FailedLoginUser, toFailedLoginUser } from './failed-login.ts';
export {
  BUILTIN_ROLES,
  type Credentials,
  DEFAULT_DOMAIN,
  expandImpliedRoles,
  type Project,
  type Role,
  type TokenRecord,
  toProjectView,
  toRoleView,
  toUserView,
  type User,
} from './model.ts';
export { hashPassword, verifyPassword } from './passwords.ts';
export type { IdentityClock, IdentityRepository } from './ports.ts';
export {
  readAuthRequest,
  readPasswordChange,
  readProjectInput,
  readRoleInput,
  readUserInput,
} from './requests.ts';
export { type AuthRequest, IdentityService, type IssuedToken, type NamedRef } from './service.ts';
