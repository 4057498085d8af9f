// Versioned schema migrations, applied at start under a lock. The DDL is portable between SQLite and
// PostgreSQL (TEXT timestamps in ISO form, INTEGER booleans), so there is one list for both.
import { ConfigError } from '../../errors/index.ts';
import type { SqlDatabase, SqlExecutor } from './database.ts';

/** A statement, or one per dialect where portable DDL cannot say it (auto-numbered keys). */
type Statement = string | { sqlite: string; postgres: string };

interface Migration {
  version: number;
  description: string;
  statements: Statement[];
}

const MIGRATIONS: Migration[] = [
  {
    version: 1,
    description: 'identity and image catalog',
    statements: [
      `CREATE TABLE projects (
        id TEXT PRIMARY KEY, name TEXT NOT NULL, domain_id TEXT NOT NULL, description TEXT NOT NULL DEFAULT '',
        enabled INTEGER NOT NULL DEFAULT 1, created_at TEXT NOT NULL, UNIQUE (domain_id, name))`,
      `CREATE TABLE users (
        id TEXT PRIMARY KEY, name TEXT NOT NULL, domain_id TEXT NOT NULL, password_hash TEXT,
        default_project_id TEXT, email TEXT, description TEXT, enabled INTEGER NOT NULL DEFAULT 1,
        created_at TEXT NOT NULL, UNIQUE (domain_id, name))`,
      'CREATE TABLE roles (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE)',
      `CREATE TABLE role_assignments (
        user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
        role_id TEXT NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
        PRIMARY KEY (user_id, project_id, role_id))`,
      `CREATE TABLE tokens (
        token_hash TEXT PRIMARY KEY, user_id TEXT NOT NULL, project_id TEXT, methods TEXT NOT NULL,
        issued_at TEXT NOT NULL, expires_at TEXT NOT NULL, revoked INTEGER NOT NULL DEFAULT 0)`,
      'CREATE INDEX tokens_expires_at ON tokens (expires_at)',
      `CREATE TABLE images (
        id TEXT PRIMARY KEY, name TEXT, status TEXT NOT NULL, visibility TEXT NOT NULL,
        protected INTEGER NOT NULL DEFAULT 0, os_hidden INTEGER NOT NULL DEFAULT 0,
        checksum TEXT, os_hash_algo TEXT, os_hash_value TEXT, owner TEXT,
        size BIGINT, virtual_size BIGINT, container_format TEXT, disk_format TEXT,
        min_ram INTEGER NOT NULL DEFAULT 0, min_disk INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL, updated_at TEXT NOT NULL, deleted_at TEXT,
        blob_key TEXT)`,
      'CREATE INDEX images_owner ON images (owner)',
      'CREATE INDEX images_status_visibility ON images (status, visibility)',
      'CREATE INDEX images_created_at ON images (created_at, id)',
      `CREATE TABLE image_properties (
        image_id TEXT NOT NULL REFERENCES images (id) ON DELETE CASCADE, name TEXT NOT NULL, value TEXT NOT NULL,
        PRIMARY KEY (image_id, name))`,
      'CREATE INDEX image_properties_name_value ON image_properties (name, value)',
      `CREATE TABLE image_tags (
        image_id TEXT NOT NULL REFERENCES images (id) ON DELETE CASCADE, tag TEXT NOT NULL,
        PRIMARY KEY (image_id, tag))`,
      'CREATE INDEX image_tags_tag ON image_tags (tag)',
      `CREATE TABLE image_members (
        image_id TEXT NOT NULL REFERENCES images (id) ON DELETE CASCADE, member TEXT NOT NULL,
        status TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
        PRIMARY KEY (image_id, member))`,
      'CREATE INDEX image_members_member ON image_members (member, status)',
    ],
  },
  {
    version: 2,
    description: 'key manager secrets, envelope-encrypted',
    statements: [
      // The payload is only ever stored sealed: the data key wrapped by the KEK named in kek_id.
      `CREATE TABLE secrets (
        id TEXT PRIMARY KEY, project_id TEXT NOT NULL, creator_id TEXT, name TEXT,
        secret_type TEXT NOT NULL, algorithm TEXT, bit_length INTEGER, mode TEXT, expiration TEXT,
        status TEXT NOT NULL, content_type TEXT, kek_id TEXT, wrapped_key TEXT, payload TEXT,
        created_at TEXT NOT NULL, updated_at TEXT NOT NULL)`,
      'CREATE INDEX secrets_project_created ON secrets (project_id, created_at, id)',
      'CREATE INDEX secrets_kek_id ON secrets (kek_id)',
    ],
  },
  {
    version: 3,
    description: 'container decision API: policies, public keys and registries.d per project',
    statements: [
      `CREATE TABLE container_policies (
        project_id TEXT PRIMARY KEY, document TEXT NOT NULL, updated_at TEXT NOT NULL)`,
      `CREATE TABLE container_registries (
        project_id TEXT PRIMARY KEY, document TEXT NOT NULL, updated_at TEXT NOT NULL)`,
      // Public keys only; the material is base64 so both dialects store it as plain TEXT.
      `CREATE TABLE container_keys (
        project_id TEXT NOT NULL, name TEXT NOT NULL, key_type TEXT NOT NULL, fingerprints TEXT NOT NULL,
        material TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
        PRIMARY KEY (project_id, name))`,
    ],
  },
  {
    version: 4,
    description: 'transparency log: entries (RFC 6962 leaves) and signed tree heads',
    statements: [
      // Append-only by contract: rows are never updated; `audit verify` detects it when they are.
      `CREATE TABLE audit_entries (
        seq BIGINT PRIMARY KEY, leaf_hash TEXT NOT NULL, event_type TEXT NOT NULL, subject_id TEXT,
        project_id TEXT, actor_id TEXT, recorded_at TEXT NOT NULL, event TEXT NOT NULL)`,
      'CREATE INDEX audit_entries_subject ON audit_entries (subject_id, seq)',
      `CREATE TABLE audit_tree_heads (
        tree_size BIGINT PRIMARY KEY, root_hash TEXT NOT NULL, signed_at TEXT NOT NULL,
        key_id TEXT NOT NULL, signature TEXT NOT NULL)`,
    ],
  },
  {
    version: 5,
    description: 'image classes, lifecycle schedules and release requests',
    statements: [
      "ALTER TABLE images ADD COLUMN image_class TEXT NOT NULL DEFAULT 'custom'",
      "ALTER TABLE images ADD COLUMN lifecycle_state TEXT NOT NULL DEFAULT 'available'",
      'ALTER TABLE images ADD COLUMN deprecation_at TEXT',
      'ALTER TABLE images ADD COLUMN obsolescence_at TEXT',
      'ALTER TABLE images ADD COLUMN replacement TEXT',
      'ALTER TABLE images ADD COLUMN uploaded_by TEXT',
      'ALTER TABLE images ADD COLUMN signed_by TEXT',
      `CREATE TABLE release_requests (
        id TEXT PRIMARY KEY, image_id TEXT NOT NULL, target TEXT NOT NULL, status TEXT NOT NULL,
        requested_by TEXT NOT NULL, requested_at TEXT NOT NULL, reason TEXT,
        decided_by TEXT, decided_at TEXT, decision_reason TEXT)`,
      'CREATE INDEX release_requests_image ON release_requests (image_id, requested_at)',
      // The latest compliance report attached to an image (the JSON of `imagetrust scan --format json`).
      `CREATE TABLE image_reports (
        image_id TEXT PRIMARY KEY, document TEXT NOT NULL, digest TEXT NOT NULL, passed INTEGER NOT NULL,
        attached_by TEXT NOT NULL, attached_at TEXT NOT NULL)`,
    ],
  },
  {
    version: 6,
    description: 'domain-event outbox, written in the transaction of each change',
    statements: [
      // Rows live only until the transparency log has appended them, in `id` order.
      {
        sqlite:
          'CREATE TABLE event_outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, occurred_at TEXT NOT NULL, event TEXT NOT NULL)',
        postgres:
          'CREATE TABLE event_outbox (id BIGSERIAL PRIMARY KEY, occurred_at TEXT NOT NULL, event TEXT NOT NULL)',
      },
    ],
  },
  {
    version: 7,
    description: 'upload leases: which process writes an image, its heartbeat and its temporary data',
    statements: [
      'ALTER TABLE images ADD COLUMN upload_owner TEXT',
      'ALTER TABLE images ADD COLUMN upload_heartbeat TEXT',
      'ALTER TABLE images ADD COLUMN upload_temp TEXT',
    ],
  },
  {
    version: 8,
    description: "a user's tokens found by user; who created each image (separation of duties)",
    statements: [
      'CREATE INDEX tokens_user_id ON tokens (user_id)',
      // Unknown (null) for images created before: their approvers are checked as before.
      'ALTER TABLE images ADD COLUMN created_by TEXT',
    ],
  },
  {
    version: 9,
    description: 'reports by kind: one current compliance, boot-test and provenance report per image',
    statements: [
      // SQLite cannot change a primary key in place: copy into a table keyed by (image, kind), every
      // existing report being a compliance report, and take the old name back.
      `CREATE TABLE image_reports_by_kind (
        image_id TEXT NOT NULL, kind TEXT NOT NULL, document TEXT NOT NULL, digest TEXT NOT NULL,
        passed INTEGER NOT NULL, attached_by TEXT NOT NULL, attached_at TEXT NOT NULL,
        PRIMARY KEY (image_id, kind))`,
      `INSERT INTO image_reports_by_kind (image_id, kind, document, digest, passed, attached_by, attached_at)
        SELECT image_id, 'compliance', document, digest, passed, attached_by, attached_at FROM image_reports`,
      'DROP TABLE image_reports',
      'ALTER TABLE image_reports_by_kind RENAME TO image_reports',
    ],
  },
  {
    version: 10,
    description:
      'metadata definitions (Glance metadefs): namespaces, their items, resource types, loaded files',
    statements: [
      `CREATE TABLE metadef_namespaces (
        id TEXT PRIMARY KEY, namespace TEXT NOT NULL UNIQUE, display_name TEXT, description TEXT,
        visibility TEXT NOT NULL, protected INTEGER NOT NULL DEFAULT 0, owner TEXT,
        created_at TEXT NOT NULL, updated_at TEXT NOT NULL)`,
      'CREATE INDEX metadef_namespaces_owner ON metadef_namespaces (owner)',
      // Objects, properties and tags: a name per kind within a namespace, and the JSON Glance keeps for it.
      // `position` keeps the order of a file or a request among items made at the same time.
      `CREATE TABLE metadef_items (
        namespace_id TEXT NOT NULL REFERENCES metadef_namespaces (id) ON DELETE CASCADE,
        kind TEXT NOT NULL, name TEXT NOT NULL, document TEXT NOT NULL, position INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL, updated_at TEXT NOT NULL, PRIMARY KEY (namespace_id, kind, name))`,
      `CREATE TABLE metadef_resource_types (
        name TEXT PRIMARY KEY, protected INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL)`,
      `CREATE TABLE metadef_associations (
        namespace_id TEXT NOT NULL REFERENCES metadef_namespaces (id) ON DELETE CASCADE,
        resource_type TEXT NOT NULL REFERENCES metadef_resource_types (name),
        prefix TEXT, properties_target TEXT, position INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL, updated_at TEXT NOT NULL, PRIMARY KEY (namespace_id, resource_type))`,
      'CREATE INDEX metadef_associations_resource_type ON metadef_associations (resource_type)',
      // Definition files loaded at start, each recorded with its namespace in one transaction.
      `CREATE TABLE metadef_loaded_files (
        file TEXT PRIMARY KEY, digest TEXT NOT NULL, namespace TEXT NOT NULL, created INTEGER NOT NULL,
        loaded_at TEXT NOT NULL)`,
    ],
  },
  {
    version: 11,
    description: 'Keystone: domains, project tags, system role assignments, token audit ids and system scope',
    statements: [
      `CREATE TABLE domains (
        id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, description TEXT NOT NULL DEFAULT '',
        enabled INTEGER NOT NULL DEFAULT 1)`,
      "INSERT INTO domains (id, name, description, enabled) VALUES ('default', 'Default', 'The default domain', 1)",
      `CREATE TABLE project_tags (
        project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE, tag TEXT NOT NULL,
        position INTEGER NOT NULL, PRIMARY KEY (project_id, tag))`,
      'CREATE INDEX project_tags_tag ON project_tags (tag)',
      `CREATE TABLE system_role_assignments (
        user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        role_id TEXT NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
        PRIMARY KEY (user_id, role_id))`,
      // Space-separated; empty for tokens issued before (they are given one derived from their hash).
      "ALTER TABLE tokens ADD COLUMN audit_ids TEXT NOT NULL DEFAULT ''",
      'ALTER TABLE tokens ADD COLUMN system_scope INTEGER NOT NULL DEFAULT 0',
      // A project's parent project; null for a top-level project, whose parent is its domain.
      'ALTER TABLE projects ADD COLUMN parent_id TEXT',
      // A user's other attributes (Keystone's `extra`), as a JSON object; null when none.
      'ALTER TABLE users ADD COLUMN extra TEXT',
    ],
  },
  {
    version: 12,
    description: 'interoperable import: import tasks, found by image',
    statements: [
      // input and result are JSON documents; message is Glance's, empty until there is something to say.
      `CREATE TABLE tasks (
        id TEXT PRIMARY KEY, type TEXT NOT NULL, status TEXT NOT NULL, owner TEXT, image_id TEXT,
        request_id TEXT, user_id TEXT, input TEXT, result TEXT, message TEXT NOT NULL,
        created_at TEXT NOT NULL, updated_at TEXT NOT NULL, expires_at TEXT)`,
      'CREATE INDEX tasks_image_id ON tasks (image_id)',
    ],
  },
  {
    version: 13,
    description: 'leases that let one process at a time run each background job',
    statements: [
      // expires_at is an ISO timestamp, compared as text like every other timestamp here.
      'CREATE TABLE job_leases (name TEXT PRIMARY KEY, holder TEXT NOT NULL, expires_at TEXT NOT NULL)',
    ],
  },
  {
    version: 14,
    description: 'key manager secret ACLs',
    statements: [
      // One row per secret and operation; user_ids is a JSON array of user ids. The secret's deletion
      // removes its rows in the same transaction (and the foreign key cascades where it is enforced).
      `CREATE TABLE secret_acls (
        secret_id TEXT NOT NULL REFERENCES secrets (id) ON DELETE CASCADE, operation TEXT NOT NULL,
        project_access INTEGER NOT NULL, user_ids TEXT NOT NULL,
        created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
        PRIMARY KEY (secret_id, operation))`,
    ],
  },
  {
    version: 15,
    description:
      'Keystone: groups, domain and group role assignments, implied and domain-specific roles, domain-scoped tokens',
    statements: [
      `CREATE TABLE identity_groups (
        id TEXT PRIMARY KEY, name TEXT NOT NULL, domain_id TEXT NOT NULL REFERENCES domains (id) ON DELETE CASCADE,
        description TEXT NOT NULL DEFAULT '', UNIQUE (domain_id, name))`,
      `CREATE TABLE group_members (
        group_id TEXT NOT NULL REFERENCES identity_groups (id) ON DELETE CASCADE,
        user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        PRIMARY KEY (group_id, user_id))`,
      'CREATE INDEX group_members_user ON group_members (user_id)',
      // One table per kind of assignment, so each reference is a foreign key that cascades on delete.
      `CREATE TABLE group_project_roles (
        group_id TEXT NOT NULL REFERENCES identity_groups (id) ON DELETE CASCADE,
        project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
        role_id TEXT NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
        PRIMARY KEY (group_id, project_id, role_id))`,
      `CREATE TABLE user_domain_roles (
        user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        domain_id TEXT NOT NULL REFERENCES domains (id) ON DELETE CASCADE,
        role_id TEXT NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
        PRIMARY KEY (user_id, domain_id, role_id))`,
      `CREATE TABLE group_domain_roles (
        group_id TEXT NOT NULL REFERENCES identity_groups (id) ON DELETE CASCADE,
        domain_id TEXT NOT NULL REFERENCES domains (id) ON DELETE CASCADE,
        role_id TEXT NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
        PRIMARY KEY (group_id, domain_id, role_id))`,
      `CREATE TABLE group_system_roles (
        group_id TEXT NOT NULL REFERENCES identity_groups (id) ON DELETE CASCADE,
        role_id TEXT NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
        PRIMARY KEY (group_id, role_id))`,
      `CREATE TABLE role_implications (
        prior_role_id TEXT NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
        implied_role_id TEXT NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
        PRIMARY KEY (prior_role_id, implied_role_id))`,
      // A domain-specific role's domain; null for a global role. Names stay unique across all roles.
      'ALTER TABLE roles ADD COLUMN domain_id TEXT',
      // A domain-scoped token's domain; null for other tokens.
      'ALTER TABLE tokens ADD COLUMN domain_id TEXT',
    ],
  },
  {
    version: 16,
    description: 'key manager secret user metadata',
    statements: [
      // One row per secret and key (stored lower case). The secret's deletion removes its rows in the
      // same transaction (and the foreign key cascades where it is enforced).
      `CREATE TABLE secret_metadata (
        secret_id TEXT NOT NULL REFERENCES secrets (id) ON DELETE CASCADE, meta_key TEXT NOT NULL,
        meta_value TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
        PRIMARY KEY (secret_id, meta_key))`,
    ],
  },
];

/** The newest schema version this code knows. */
export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1].version;

/**
 * Applies every migration newer than the database's version, up to `upTo` (tests stop at an older
 * version to check the step after it); returns the versions applied.
 */
export async function migrateDatabase(
  db: SqlDatabase,
  now: () => Date = () => new Date(),
  upTo: number = SCHEMA_VERSION,
): Promise<number[]> {
  return db.withMigrationLock(async (tx) => {
    await tx.run(
      'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at TEXT NOT NULL)',
    );
    const rows = await tx.query<{ version: number }>('SELECT version FROM schema_migrations');
    const applied = new Set(rows.map((row) => Number(row.version)));
    const newest = Math.max(0, ...applied);
    if (newest > SCHEMA_VERSION) {
      throw new ConfigError(
        `The database schema is version ${newest}, newer than this imagetrust (${SCHEMA_VERSION}); upgrade imagetrust.`,
      );
    }
    const done: number[] = [];
    for (const migration of MIGRATIONS) {
      if (applied.has(migration.version) || migration.version > upTo) continue;
      for (const statement of migration.statements)
        await tx.run(typeof statement === 'string' ? statement : statement[tx.dialect]);
      await tx.run('INSERT INTO schema_migrations (version, description, applied_at) VALUES (?, ?, ?)', [
        migration.version,
        migration.description,
        now().toISOString(),
      ]);
      done.push(migration.version);
    }
    return done;
  });
}

/** The newest migration applied to the database; 0 before any. Readiness compares it with SCHEMA_VERSION. */
export async function appliedSchemaVersion(db: SqlExecutor): Promise<number> {
  const rows = await db.query<{ version: number | string | null }>(
    'SELECT MAX(version) AS version FROM schema_migrations',
  );
  return Number(rows[0]?.version ?? 0);
}
