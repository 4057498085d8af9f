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
  UserFilter,
  UserInput,
} from './directory.ts';
export { type FailedLoginUser, toFailedLoginUser } from './failed-login.ts';
export { type AssignmentFilter, type AssignmentView, GrantDirectory } from './grants.ts';
export {
  BUILTIN_ROLES,
  type Credentials,
  DEFAULT_DOMAIN,
  type Domain,
  expandImpliedRoles,
  expandRoles,
  type GrantActor,
  type GrantScope,
  type Group,
  type Project,
  type Role,
  type RoleImplication,
  type StoredAssignment,
  type TokenRecord,
  toDomainView,
  toGroupView,
  toProjectView,
  toRoleView,
  toUserView,
  type User,
} from './model.ts';
export { hashPassword, passwordDerivations, verifyPassword } from './passwords.ts';
export type { IdentityClock, IdentityRepository } from './ports.ts';
export {
  type DomainInput,
  type GroupInput,
  NAME_LIMITS,
  readAuthRequest,
  readDomainInput,
  readGroupInput,
  readPasswordChange,
  readProjectInput,
  readQueryBoolean,
  readRoleInput,
  readTag,
  readTagsBody,
  readUserInput,
} from './requests.ts';
export { type AuthRequest, IdentityService, type IssuedToken, type NamedRef } from './service.ts';
