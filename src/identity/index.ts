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
  ProjectFilter,
  ProjectInput,
  RoleAssignment,
  UserFilter,
  UserInput,
} from './directory.ts';
export { type FailedLoginUser, toFailedLoginUser } from './failed-login.ts';
export {
  BUILTIN_ROLES,
  type Credentials,
  DEFAULT_DOMAIN,
  type Domain,
  expandImpliedRoles,
  type Project,
  type Role,
  type TokenRecord,
  toDomainView,
  toProjectView,
  toRoleView,
  toUserView,
  type User,
} from './model.ts';
export { hashPassword, verifyPassword } from './passwords.ts';
export type { IdentityClock, IdentityRepository } from './ports.ts';
export {
  type DomainInput,
  NAME_LIMITS,
  readAuthRequest,
  readDomainInput,
  readPasswordChange,
  readProjectInput,
  readQueryBoolean,
  readRoleInput,
  readTag,
  readTagsBody,
  readUserInput,
} from './requests.ts';
export { type AuthRequest, IdentityService, type IssuedToken, type NamedRef } from './service.ts';
