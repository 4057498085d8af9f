// The in-code default of every authorization rule, in the oslo.policy language. A policy file
// overrides any of them by name; `imagetrust policy list-defaults` prints this list as a sample file.
//
// The target of a rule is a flat dict: `project_id` (the project owning the thing acted on),
// `user_id` (its user, for identity and secrets), `member_id` (the project whose image membership
// changes). The credentials are `user_id`, `user_name`, `user_domain_id`, `project_id`,
// `project_name`, `project_domain_id`, `roles`, `is_admin` and, for a system-scoped token,
// `system_scope` (`all`); keys whose value is null are left out, so an unscoped token never matches
// `project_id:%(project_id)s`. Identity's domain rules also see the target's `domain_id`. The secret
// rules also see `read_project_access` (False when the secret's read ACL turned project access off) and
// `read` (`'read'` when that ACL lists the caller), as Barbican's ACL data reaches its rules.

export interface RuleDefault {
  name: string;
  check: string;
  description: string;
  /** The API calls the rule guards, as "METHOD /path"; empty for rules other rules reference. */
  operations: string[];
}

const base: RuleDefault[] = [
  {
    name: 'default',
    check: 'rule:context_is_admin',
    description: 'Used for any action that has no rule of its own.',
    operations: [],
  },
  {
    name: 'context_is_admin',
    check: 'is_admin:True',
    description:
      'Cloud administrators: the admin role on the admin project (identity.adminProject). The admin role on another project makes its holder an administrator of that project only, through the project rules.',
    operations: [],
  },
  {
    name: 'reader',
    check: 'rule:context_is_admin or role:reader',
    description: 'Readers; which images and secrets they see is then decided by visibility and ownership.',
    operations: [],
  },
  {
    name: 'system_reader',
    check: 'role:reader and system_scope:all',
    description:
      "Keystone's system readers: a reader (or member, or admin) role on the system, in a system-scoped token.",
    operations: [],
  },
  {
    name: 'project_member',
    check: 'role:member and project_id:%(project_id)s',
    description: 'Members of the project that owns the target.',
    operations: [],
  },
  {
    name: 'project_member_or_admin',
    check: 'rule:context_is_admin or rule:project_member',
    description: 'Administrators, or members of the project that owns the target.',
    operations: [],
  },
  {
    name: 'approver',
    check: 'role:approver',
    description:
      'Release approvers. Whatever this says, nobody approves a release of an image they created, uploaded, signed or asked to release.',
    operations: [],
  },
];

const rule = (name: string, check: string, description: string, ...operations: string[]): RuleDefault => ({
  name,
  check,
  description,
  operations,
});

/** imagetrust's additions to the image API, namespaced so they never collide with a Glance rule. */
const image = (name: string, check: string, description: string, ...operations: string[]): RuleDefault =>
  rule(`image:${name}`, check, description, ...operations);

// Glance's own actions keep Glance's rule names, bare as in Glance's policy.yaml, so an operator's
// Glance policy file applies unchanged.
const images: RuleDefault[] = [
  rule('get_images', 'rule:reader', 'List images.', 'GET /v2/images'),
  rule('get_image', 'rule:reader', 'Show an image.', 'GET /v2/images/{image_id}'),
  rule('add_image', 'rule:project_member_or_admin', 'Create an image.', 'POST /v2/images'),
  rule(
    'modify_image',
    'rule:project_member_or_admin',
    'Update an image, its tags included, and stage or import its data (as in Glance).',
    'PATCH /v2/images/{image_id}',
    'PUT /v2/images/{image_id}/tags/{tag}',
    'DELETE /v2/images/{image_id}/tags/{tag}',
    'PUT /v2/images/{image_id}/stage',
    'POST /v2/images/{image_id}/import',
  ),
  rule('delete_image', 'rule:project_member_or_admin', 'Delete an image.', 'DELETE /v2/images/{image_id}'),
  rule(
    'upload_image',
    'rule:project_member_or_admin',
    'Upload image data.',
    'PUT /v2/images/{image_id}/file',
  ),
  // Readers download, as a stock Glance 25 lets them (enforce_new_defaults off): the boot gate and auditors
  // verify images with read-only credentials. Glance's new defaults (member and up) are a policy file away.
  rule('download_image', 'rule:reader', 'Download image data.', 'GET /v2/images/{image_id}/file'),
  // Glance's task rules: reading tasks needs both the rule of the call and tasks_api_access (admins).
  rule('get_task', '@', 'Show a task.', 'GET /v2/tasks/{task_id}'),
  rule('get_tasks', '@', 'List tasks.', 'GET /v2/tasks'),
  rule(
    'tasks_api_access',
    'rule:context_is_admin',
    'Use the tasks API at all (as in Glance: admins only; import tasks of an image are at GET /v2/images/{image_id}/tasks under get_image).',
    'GET /v2/tasks/{task_id}',
    'GET /v2/tasks',
  ),
  rule(
    'publicize_image',
    'rule:context_is_admin',
    'Make an image public directly (stock images normally go public through a release).',
    'POST /v2/images',
    'PATCH /v2/images/{image_id}',
  ),
  rule(
    'communitize_image',
    'rule:project_member_or_admin',
    'Make an image community-visible.',
    'POST /v2/images',
    'PATCH /v2/images/{image_id}',
  ),
  image('set_owner', 'rule:context_is_admin', "Change an image's owner.", 'PATCH /v2/images/{image_id}'),
  rule(
    'deactivate',
    'rule:project_member_or_admin',
    'Deactivate an image.',
    'POST /v2/images/{image_id}/actions/deactivate',
  ),
  rule(
    'reactivate',
    'rule:project_member_or_admin',
    'Reactivate an image.',
    'POST /v2/images/{image_id}/actions/reactivate',
  ),
  rule('add_member', 'rule:project_member_or_admin', 'Share an image.', 'POST /v2/images/{image_id}/members'),
  rule(
    'delete_member',
    'rule:project_member_or_admin',
    'Stop sharing an image.',
    'DELETE /v2/images/{image_id}/members/{member_id}',
  ),
  rule('get_members', 'rule:reader', "List an image's members.", 'GET /v2/images/{image_id}/members'),
  rule(
    'get_member',
    'rule:reader',
    "Show one of an image's members.",
    'GET /v2/images/{image_id}/members/{member_id}',
  ),
  rule(
    'modify_member',
    'rule:context_is_admin or (role:member and project_id:%(member_id)s)',
    'Accept or reject an image shared with your project.',
    'PUT /v2/images/{image_id}/members/{member_id}',
  ),
  image(
    'get_signing_certificate',
    'rule:reader',
    'Read the certificate an image you may see was signed with (for boot-time verification).',
    'GET /v2/images/{image_id}/signing-certificate',
  ),
  image(
    'set_lifecycle',
    'rule:project_member_or_admin',
    "Change or schedule an image's lifecycle (available, deprecated, obsolete) or class.",
    'PUT /v2/images/{image_id}/lifecycle',
  ),
  image(
    'restore_obsolete',
    'rule:context_is_admin',
    'Bring an obsolete image back to available or deprecated.',
    'PUT /v2/images/{image_id}/lifecycle',
  ),
  image(
    'attach_report',
    'rule:project_member_or_admin',
    'Attach a report to an image: compliance (`imagetrust scan`), boot-test (`imagetrust test-boot`) or provenance (a signed DSSE envelope).',
    'PUT /v2/images/{image_id}/compliance-report',
    'PUT /v2/images/{image_id}/boot-test-report',
    'PUT /v2/images/{image_id}/provenance',
  ),
  image(
    'request_release',
    'rule:project_member_or_admin',
    'Ask for an image to be released (made public as a stock image, or listed as a catalog image).',
    'POST /v2/images/{image_id}/releases',
  ),
  image(
    'get_releases',
    'rule:reader',
    "List an image's release requests.",
    'GET /v2/images/{image_id}/releases',
    'GET /v2/releases',
  ),
  image(
    'decide_release',
    'rule:approver',
    'Approve or reject a release request.',
    'POST /v2/releases/{request_id}/approve',
    'POST /v2/releases/{request_id}/reject',
  ),
];

// Glance's metadef rules under Glance's names, with its secure-RBAC defaults: reads for readers of the
// owning project and for anyone on public namespaces, writes for administrators (`metadef_admin`).
const METADEF_READ =
  "rule:context_is_admin or (role:reader and (project_id:%(project_id)s or 'public':%(visibility)s))";
const metadefs: RuleDefault[] = [
  rule('metadef_default', '', 'Kept for policy files written for Glance that refer to it.'),
  rule('metadef_admin', 'rule:context_is_admin', 'Who may change metadata definitions.'),
  rule(
    'get_metadef_namespace',
    METADEF_READ,
    'Show a metadata definition namespace.',
    'GET /v2/metadefs/namespaces/{namespace_name}',
  ),
  rule(
    'get_metadef_namespaces',
    'rule:context_is_admin or (role:reader and project_id:%(project_id)s)',
    'List metadata definition namespaces (each then shown as get_metadef_namespace allows).',
    'GET /v2/metadefs/namespaces',
  ),
  rule(
    'modify_metadef_namespace',
    'rule:metadef_admin',
    'Update a metadata definition namespace.',
    'PUT /v2/metadefs/namespaces/{namespace_name}',
  ),
  rule(
    'add_metadef_namespace',
    'rule:metadef_admin',
    'Create a metadata definition namespace.',
    'POST /v2/metadefs/namespaces',
  ),
  rule(
    'delete_metadef_namespace',
    'rule:metadef_admin',
    'Delete a metadata definition namespace, or all its objects, properties or tags.',
    'DELETE /v2/metadefs/namespaces/{namespace_name}',
    'DELETE /v2/metadefs/namespaces/{namespace_name}/objects',
    'DELETE /v2/metadefs/namespaces/{namespace_name}/properties',
    'DELETE /v2/metadefs/namespaces/{namespace_name}/tags',
  ),
  rule(
    'get_metadef_object',
    METADEF_READ,
    'Show a metadata definition object.',
    'GET /v2/metadefs/namespaces/{namespace_name}/objects/{object_name}',
  ),
  rule(
    'get_metadef_objects',
    METADEF_READ,
    "List a namespace's metadata definition objects.",
    'GET /v2/metadefs/namespaces/{namespace_name}/objects',
  ),
  rule(
    'modify_metadef_object',
    'rule:metadef_admin',
    'Update a metadata definition object.',
    'PUT /v2/metadefs/namespaces/{namespace_name}/objects/{object_name}',
  ),
  rule(
    'add_metadef_object',
    'rule:metadef_admin',
    'Create a metadata definition object.',
    'POST /v2/metadefs/namespaces/{namespace_name}/objects',
  ),
  rule(
    'delete_metadef_object',
    'rule:metadef_admin',
    'Delete a metadata definition object.',
    'DELETE /v2/metadefs/namespaces/{namespace_name}/objects/{object_name}',
  ),
  rule(
    'list_metadef_resource_types',
    METADEF_READ,
    "List resource types, or a namespace's resource type associations.",
    'GET /v2/metadefs/resource_types',
    'GET /v2/metadefs/namespaces/{namespace_name}/resource_types',
  ),
  rule(
    'get_metadef_resource_type',
    METADEF_READ,
    'Show resource type associations.',
    'GET /v2/metadefs/namespaces/{namespace_name}/resource_types',
  ),
  rule(
    'add_metadef_resource_type_association',
    'rule:metadef_admin',
    'Associate a resource type with a namespace.',
    'POST /v2/metadefs/namespaces/{namespace_name}/resource_types',
  ),
  rule(
    'remove_metadef_resource_type_association',
    'rule:metadef_admin',
    'Remove a resource type association.',
    'DELETE /v2/metadefs/namespaces/{namespace_name}/resource_types/{name}',
  ),
  rule(
    'get_metadef_property',
    METADEF_READ,
    'Show a metadata definition property.',
    'GET /v2/metadefs/namespaces/{namespace_name}/properties/{property_name}',
  ),
  rule(
    'get_metadef_properties',
    METADEF_READ,
    "List a namespace's metadata definition properties.",
    'GET /v2/metadefs/namespaces/{namespace_name}/properties',
  ),
  rule(
    'modify_metadef_property',
    'rule:metadef_admin',
    'Update a metadata definition property.',
    'PUT /v2/metadefs/namespaces/{namespace_name}/properties/{property_name}',
  ),
  rule(
    'add_metadef_property',
    'rule:metadef_admin',
    'Create a metadata definition property.',
    'POST /v2/metadefs/namespaces/{namespace_name}/properties',
  ),
  rule(
    'remove_metadef_property',
    'rule:metadef_admin',
    'Delete a metadata definition property.',
    'DELETE /v2/metadefs/namespaces/{namespace_name}/properties/{property_name}',
  ),
  rule(
    'get_metadef_tag',
    METADEF_READ,
    'Show a metadata definition tag.',
    'GET /v2/metadefs/namespaces/{namespace_name}/tags/{tag_name}',
  ),
  rule(
    'get_metadef_tags',
    METADEF_READ,
    "List a namespace's metadata definition tags.",
    'GET /v2/metadefs/namespaces/{namespace_name}/tags',
  ),
  rule(
    'modify_metadef_tag',
    'rule:metadef_admin',
    'Update a metadata definition tag.',
    'PUT /v2/metadefs/namespaces/{namespace_name}/tags/{tag_name}',
  ),
  rule(
    'add_metadef_tag',
    'rule:metadef_admin',
    'Create a metadata definition tag.',
    'POST /v2/metadefs/namespaces/{namespace_name}/tags/{tag_name}',
  ),
  rule(
    'add_metadef_tags',
    'rule:metadef_admin',
    'Create metadata definition tags (replacing, or with X-Openstack-Append adding to, the existing ones).',
    'POST /v2/metadefs/namespaces/{namespace_name}/tags',
  ),
  rule(
    'delete_metadef_tag',
    'rule:metadef_admin',
    'Delete a metadata definition tag.',
    'DELETE /v2/metadefs/namespaces/{namespace_name}/tags/{tag_name}',
  ),
  rule(
    'delete_metadef_tags',
    'rule:metadef_admin',
    'Delete all the tags of a namespace.',
    'DELETE /v2/metadefs/namespaces/{namespace_name}/tags',
  ),
];

// Barbican's secure-RBAC defaults: project members act on their project's secrets, readers get nothing,
// an admin is an admin of their own project only. A secret's read ACL lets the users it lists read it
// from any project, and with project access off keeps it from the other members of its project.
const secretRead = [
  'rule:secret_project_admin',
  '(rule:project_member and rule:secret_owner)',
  '(rule:project_member and not rule:secret_private)',
].join(' or ');
const secrets: RuleDefault[] = [
  rule('secret_project_admin', 'role:admin and project_id:%(project_id)s', "Admins of the secret's project."),
  rule('secret_owner', 'user_id:%(user_id)s', "The secret's creator."),
  rule(
    'secret_private',
    "'False':%(read_project_access)s",
    'A secret whose read ACL turned project access off (read_project_access is False; True without a read ACL).',
  ),
  rule(
    'secret_acl_read',
    "'read':%(read)s",
    "Users its read ACL lists (the target's read is 'read' for them).",
  ),
  rule('secrets:get', 'rule:project_member', 'List secrets.', 'GET /key-manager/v1/secrets'),
  rule('secrets:post', 'rule:project_member', 'Create a secret.', 'POST /key-manager/v1/secrets'),
  rule(
    'secret:get',
    `${secretRead} or rule:secret_acl_read`,
    "Show a secret's metadata.",
    'GET /key-manager/v1/secrets/{id}',
  ),
  rule(
    'secret:decrypt',
    `${secretRead} or rule:secret_acl_read`,
    "Read a secret's payload.",
    'GET /key-manager/v1/secrets/{id}/payload',
  ),
  rule('secret:put', secretRead, "Add a secret's payload.", 'PUT /key-manager/v1/secrets/{id}'),
  rule('secret:delete', secretRead, 'Delete a secret.', 'DELETE /key-manager/v1/secrets/{id}'),
  // Barbican's secret_meta rules are its secret rules again: read as secret:get (read ACL included),
  // every change as secret:put.
  rule(
    'secret_meta:get',
    `${secretRead} or rule:secret_acl_read`,
    "Show a secret's user metadata, or one key of it.",
    'GET /key-manager/v1/secrets/{id}/metadata',
    'GET /key-manager/v1/secrets/{id}/metadata/{key}',
  ),
  rule(
    'secret_meta:post',
    secretRead,
    "Add a key to a secret's user metadata.",
    'POST /key-manager/v1/secrets/{id}/metadata',
  ),
  rule(
    'secret_meta:put',
    secretRead,
    "Replace a secret's user metadata, or change one key's value.",
    'PUT /key-manager/v1/secrets/{id}/metadata',
    'PUT /key-manager/v1/secrets/{id}/metadata/{key}',
  ),
  rule(
    'secret_meta:delete',
    secretRead,
    "Remove a key from a secret's user metadata.",
    'DELETE /key-manager/v1/secrets/{id}/metadata/{key}',
  ),
  // Barbican's ACL rules also name its not-private branch, but Barbican evaluates them without the ACL
  // data (read_project_access is missing, so that branch is always false): in effect, and here, only the
  // project's admins and the secret's creator manage its ACL.
  rule(
    'secret_acls:get',
    'rule:secret_project_admin or (rule:project_member and rule:secret_owner)',
    "Show a secret's ACL.",
    'GET /key-manager/v1/secrets/{id}/acl',
  ),
  rule(
    'secret_acls:put_patch',
    'rule:secret_project_admin or (rule:project_member and rule:secret_owner)',
    "Replace or update a secret's ACL.",
    'PUT /key-manager/v1/secrets/{id}/acl',
    'PATCH /key-manager/v1/secrets/{id}/acl',
  ),
  rule(
    'secret_acls:delete',
    'rule:secret_project_admin or (rule:project_member and rule:secret_owner)',
    "Delete a secret's ACL (back to the default: project access, no users).",
    'DELETE /key-manager/v1/secrets/{id}/acl',
  ),
];

const containers: RuleDefault[] = [
  rule(
    'containers:get_policy',
    'rule:reader',
    "Read the project's policy.json.",
    'GET /containers/v1/policy',
  ),
  rule(
    'containers:modify_policy',
    'rule:project_member_or_admin',
    "Replace the project's policy.json or registries.d.",
    'PUT /containers/v1/policy',
    'PUT /containers/v1/registries',
  ),
  rule('containers:get_keys', 'rule:reader', "List the project's public keys.", 'GET /containers/v1/keys'),
  rule(
    'containers:modify_keys',
    'rule:project_member_or_admin',
    "Add or remove the project's public keys.",
    'PUT /containers/v1/keys/{name}',
    'DELETE /containers/v1/keys/{name}',
  ),
  rule(
    'containers:decide',
    'rule:reader',
    'Ask whether container images may be used.',
    'POST /containers/v1/decisions',
  ),
];

const identity: RuleDefault[] = [
  rule(
    'identity:validate_token',
    'rule:context_is_admin or user_id:%(user_id)s',
    "Validate a token (your own, or anyone's as an administrator).",
    'GET /v3/auth/tokens',
  ),
  rule(
    'identity:check_token',
    'rule:context_is_admin or user_id:%(user_id)s',
    "Check a token (your own, or anyone's as an administrator).",
    'HEAD /v3/auth/tokens',
  ),
  rule(
    'identity:revoke_token',
    'rule:context_is_admin or user_id:%(user_id)s',
    "Revoke a token (your own, or anyone's as an administrator).",
    'DELETE /v3/auth/tokens',
  ),
  rule(
    'identity:get_user',
    'rule:context_is_admin or rule:system_reader or user_id:%(user_id)s',
    'Show a user (yourself, or anyone as an administrator).',
    'GET /v3/users/{user_id}',
  ),
  rule('identity:list_users', 'rule:context_is_admin or rule:system_reader', 'List users.', 'GET /v3/users'),
  rule('identity:create_user', 'rule:context_is_admin', 'Create a user.', 'POST /v3/users'),
  rule('identity:update_user', 'rule:context_is_admin', 'Update a user.', 'PATCH /v3/users/{user_id}'),
  rule('identity:delete_user', 'rule:context_is_admin', 'Delete a user.', 'DELETE /v3/users/{user_id}'),
  rule(
    'identity:list_user_projects',
    'rule:context_is_admin or rule:system_reader or user_id:%(user_id)s',
    "List a user's projects.",
    'GET /v3/users/{user_id}/projects',
  ),
  rule(
    'identity:get_project',
    'rule:context_is_admin or rule:system_reader or project_id:%(project_id)s',
    'Show a project (your own, or any as an administrator).',
    'GET /v3/projects/{project_id}',
  ),
  rule(
    'identity:list_projects',
    'rule:context_is_admin or rule:system_reader',
    "List all projects (Keystone's default: administrators and system readers; others list their own at /v3/users/{user_id}/projects).",
    'GET /v3/projects',
  ),
  rule(
    'identity:list_project_tags',
    'rule:context_is_admin or rule:system_reader or project_id:%(project_id)s',
    "List a project's tags.",
    'GET /v3/projects/{project_id}/tags',
  ),
  rule(
    'identity:get_project_tag',
    'rule:context_is_admin or rule:system_reader or project_id:%(project_id)s',
    'Check a tag of a project.',
    'GET /v3/projects/{project_id}/tags/{tag}',
    'HEAD /v3/projects/{project_id}/tags/{tag}',
  ),
  rule(
    'identity:update_project_tags',
    'rule:context_is_admin or (role:admin and project_id:%(project_id)s)',
    "Replace a project's tags.",
    'PUT /v3/projects/{project_id}/tags',
  ),
  rule(
    'identity:create_project_tag',
    'rule:context_is_admin or (role:admin and project_id:%(project_id)s)',
    'Add a tag to a project.',
    'PUT /v3/projects/{project_id}/tags/{tag}',
  ),
  rule(
    'identity:delete_project_tags',
    'rule:context_is_admin or (role:admin and project_id:%(project_id)s)',
    "Delete a project's tags.",
    'DELETE /v3/projects/{project_id}/tags',
  ),
  rule(
    'identity:delete_project_tag',
    'rule:context_is_admin or (role:admin and project_id:%(project_id)s)',
    'Delete a tag of a project.',
    'DELETE /v3/projects/{project_id}/tags/{tag}',
  ),
  rule(
    'identity:list_domains',
    'rule:context_is_admin or rule:system_reader',
    'List domains.',
    'GET /v3/domains',
  ),
  rule(
    'identity:get_domain',
    'rule:context_is_admin or rule:system_reader or project_domain_id:%(domain_id)s',
    "Show a domain (any as an administrator or system reader, your project's otherwise).",
    'GET /v3/domains/{domain_id}',
  ),
  rule('identity:create_domain', 'rule:context_is_admin', 'Create a domain.', 'POST /v3/domains'),
  rule(
    'identity:update_domain',
    'rule:context_is_admin',
    'Update a domain.',
    'PATCH /v3/domains/{domain_id}',
  ),
  rule(
    'identity:delete_domain',
    'rule:context_is_admin',
    'Delete a disabled domain with its projects and users.',
    'DELETE /v3/domains/{domain_id}',
  ),
  rule('identity:create_project', 'rule:context_is_admin', 'Create a project.', 'POST /v3/projects'),
  rule(
    'identity:update_project',
    'rule:context_is_admin',
    'Update a project.',
    'PATCH /v3/projects/{project_id}',
  ),
  rule(
    'identity:delete_project',
    'rule:context_is_admin',
    'Delete a project.',
    'DELETE /v3/projects/{project_id}',
  ),
  rule('identity:list_roles', 'rule:reader', 'List roles.', 'GET /v3/roles'),
  rule(
    'identity:list_system_grants_for_user',
    'rule:context_is_admin or rule:system_reader or user_id:%(user_id)s',
    "List a user's roles on the system.",
    'GET /v3/system/users/{user_id}/roles',
  ),
  rule(
    'identity:check_system_grant_for_user',
    'rule:context_is_admin or rule:system_reader',
    'Check a role of a user on the system.',
    'HEAD /v3/system/users/{user_id}/roles/{role_id}',
    'GET /v3/system/users/{user_id}/roles/{role_id}',
  ),
  rule(
    'identity:create_system_grant_for_user',
    'rule:context_is_admin',
    'Grant a user a role on the system.',
    'PUT /v3/system/users/{user_id}/roles/{role_id}',
  ),
  rule(
    'identity:revoke_system_grant_for_user',
    'rule:context_is_admin',
    'Revoke a role of a user on the system.',
    'DELETE /v3/system/users/{user_id}/roles/{role_id}',
  ),
  rule('identity:get_role', 'rule:reader', 'Show a role.', 'GET /v3/roles/{role_id}'),
  rule('identity:create_role', 'rule:context_is_admin', 'Create a role.', 'POST /v3/roles'),
  rule('identity:update_role', 'rule:context_is_admin', 'Rename a role.', 'PATCH /v3/roles/{role_id}'),
  rule('identity:delete_role', 'rule:context_is_admin', 'Delete a role.', 'DELETE /v3/roles/{role_id}'),
  rule(
    'identity:create_grant',
    'rule:context_is_admin',
    'Grant a user or group a role on a project or domain.',
    'PUT /v3/projects/{project_id}/users/{user_id}/roles/{role_id}',
    'PUT /v3/projects/{project_id}/groups/{group_id}/roles/{role_id}',
    'PUT /v3/domains/{domain_id}/users/{user_id}/roles/{role_id}',
    'PUT /v3/domains/{domain_id}/groups/{group_id}/roles/{role_id}',
  ),
  rule(
    'identity:check_grant',
    'rule:context_is_admin or rule:system_reader',
    'Check a role grant of a user or group on a project or domain.',
    'HEAD /v3/projects/{project_id}/users/{user_id}/roles/{role_id}',
    'HEAD /v3/projects/{project_id}/groups/{group_id}/roles/{role_id}',
    'HEAD /v3/domains/{domain_id}/users/{user_id}/roles/{role_id}',
    'HEAD /v3/domains/{domain_id}/groups/{group_id}/roles/{role_id}',
  ),
  rule(
    'identity:revoke_grant',
    'rule:context_is_admin',
    'Revoke a role of a user or group on a project or domain.',
    'DELETE /v3/projects/{project_id}/users/{user_id}/roles/{role_id}',
    'DELETE /v3/projects/{project_id}/groups/{group_id}/roles/{role_id}',
    'DELETE /v3/domains/{domain_id}/users/{user_id}/roles/{role_id}',
    'DELETE /v3/domains/{domain_id}/groups/{group_id}/roles/{role_id}',
  ),
  rule(
    'identity:list_grants',
    'rule:context_is_admin or rule:system_reader or user_id:%(user_id)s',
    "List a user's or group's roles on a project or domain (your own, or anyone's as an administrator).",
    'GET /v3/projects/{project_id}/users/{user_id}/roles',
    'GET /v3/projects/{project_id}/groups/{group_id}/roles',
    'GET /v3/domains/{domain_id}/users/{user_id}/roles',
    'GET /v3/domains/{domain_id}/groups/{group_id}/roles',
  ),
  rule(
    'identity:list_domain_roles',
    'rule:context_is_admin or rule:system_reader',
    "List a domain's roles.",
    'GET /v3/roles?domain_id={domain_id}',
  ),
  rule(
    'identity:get_domain_role',
    'rule:context_is_admin or rule:system_reader',
    'Show a domain-specific role.',
    'GET /v3/roles/{role_id}',
  ),
  rule(
    'identity:create_domain_role',
    'rule:context_is_admin',
    'Create a domain-specific role.',
    'POST /v3/roles',
  ),
  rule(
    'identity:update_domain_role',
    'rule:context_is_admin',
    'Rename a domain-specific role.',
    'PATCH /v3/roles/{role_id}',
  ),
  rule(
    'identity:delete_domain_role',
    'rule:context_is_admin',
    'Delete a domain-specific role.',
    'DELETE /v3/roles/{role_id}',
  ),
  rule(
    'identity:list_implied_roles',
    'rule:context_is_admin or rule:system_reader',
    'List the roles a role implies.',
    'GET /v3/roles/{prior_role_id}/implies',
  ),
  rule(
    'identity:get_implied_role',
    'rule:context_is_admin or rule:system_reader',
    'Show a role inference rule.',
    'GET /v3/roles/{prior_role_id}/implies/{implied_role_id}',
  ),
  rule(
    'identity:check_implied_role',
    'rule:context_is_admin or rule:system_reader',
    'Check a role inference rule.',
    'HEAD /v3/roles/{prior_role_id}/implies/{implied_role_id}',
  ),
  rule(
    'identity:create_implied_role',
    'rule:context_is_admin',
    'Create a role inference rule.',
    'PUT /v3/roles/{prior_role_id}/implies/{implied_role_id}',
  ),
  rule(
    'identity:delete_implied_role',
    'rule:context_is_admin',
    'Delete a role inference rule.',
    'DELETE /v3/roles/{prior_role_id}/implies/{implied_role_id}',
  ),
  rule(
    'identity:list_role_inference_rules',
    'rule:context_is_admin or rule:system_reader',
    'List every role inference rule.',
    'GET /v3/role_inferences',
  ),
  rule(
    'identity:list_groups',
    'rule:context_is_admin or rule:system_reader',
    'List groups.',
    'GET /v3/groups',
  ),
  rule(
    'identity:get_group',
    'rule:context_is_admin or rule:system_reader',
    'Show a group.',
    'GET /v3/groups/{group_id}',
  ),
  rule('identity:create_group', 'rule:context_is_admin', 'Create a group.', 'POST /v3/groups'),
  rule('identity:update_group', 'rule:context_is_admin', 'Update a group.', 'PATCH /v3/groups/{group_id}'),
  rule(
    'identity:delete_group',
    'rule:context_is_admin',
    'Delete a group (its memberships and role assignments with it).',
    'DELETE /v3/groups/{group_id}',
  ),
  rule(
    'identity:list_users_in_group',
    'rule:context_is_admin or rule:system_reader',
    "List a group's users.",
    'GET /v3/groups/{group_id}/users',
  ),
  rule(
    'identity:check_user_in_group',
    'rule:context_is_admin or rule:system_reader',
    'Check that a user is in a group.',
    'HEAD /v3/groups/{group_id}/users/{user_id}',
    'GET /v3/groups/{group_id}/users/{user_id}',
  ),
  rule(
    'identity:add_user_to_group',
    'rule:context_is_admin',
    'Add a user to a group.',
    'PUT /v3/groups/{group_id}/users/{user_id}',
  ),
  rule(
    'identity:remove_user_from_group',
    'rule:context_is_admin',
    'Remove a user from a group.',
    'DELETE /v3/groups/{group_id}/users/{user_id}',
  ),
  rule(
    'identity:list_groups_for_user',
    'rule:context_is_admin or rule:system_reader or user_id:%(user_id)s',
    "List a user's groups (your own, or anyone's as an administrator).",
    'GET /v3/users/{user_id}/groups',
  ),
  rule(
    'identity:list_system_grants_for_group',
    'rule:context_is_admin or rule:system_reader',
    "List a group's roles on the system.",
    'GET /v3/system/groups/{group_id}/roles',
  ),
  rule(
    'identity:check_system_grant_for_group',
    'rule:context_is_admin or rule:system_reader',
    'Check a role of a group on the system.',
    'HEAD /v3/system/groups/{group_id}/roles/{role_id}',
    'GET /v3/system/groups/{group_id}/roles/{role_id}',
  ),
  rule(
    'identity:create_system_grant_for_group',
    'rule:context_is_admin',
    'Grant a group a role on the system.',
    'PUT /v3/system/groups/{group_id}/roles/{role_id}',
  ),
  rule(
    'identity:revoke_system_grant_for_group',
    'rule:context_is_admin',
    'Revoke a role of a group on the system.',
    'DELETE /v3/system/groups/{group_id}/roles/{role_id}',
  ),
  rule(
    'identity:list_role_assignments',
    'rule:context_is_admin or rule:system_reader or user_id:%(user_id)s',
    'List role assignments.',
    'GET /v3/role_assignments',
  ),
];

const audit: RuleDefault[] = [
  rule(
    'audit:get_tree_head',
    '',
    "Read the transparency log's signed tree head and public key, and inclusion and consistency proofs (hashes only; anyone with a token).",
    'GET /audit/v1/tree-head',
    'GET /audit/v1/proofs/inclusion',
    'GET /audit/v1/proofs/consistency',
  ),
  rule(
    'audit:get_entries',
    'rule:context_is_admin or role:auditor',
    'Read log entries.',
    'GET /audit/v1/entries',
  ),
  rule(
    'audit:get_image_history',
    'rule:context_is_admin or role:auditor or project_id:%(project_id)s',
    "Read an image's history with inclusion proofs.",
    'GET /audit/v1/images/{image_id}',
  ),
];

/** Every rule, in the order `policy list-defaults` prints them. */
export const DEFAULT_RULES: readonly RuleDefault[] = [
  ...base,
  ...images,
  ...metadefs,
  ...secrets,
  ...containers,
  ...identity,
  ...audit,
];

/** The names API code may enforce: every default above that guards an operation. */
export type Action = (typeof DEFAULT_RULES)[number]['name'];
