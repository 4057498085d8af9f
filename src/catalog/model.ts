// The image record and Glance v2's rules over it: statuses and their transitions, formats,
// read-only and reserved keys. Field names are Glance's wire names on purpose: the record is
// the API's language, so no mapping layer can drift from it.
import { ImageTrustError } from '../errors/index.ts';

export const IMAGE_STATUSES = [
  'queued',
  'saving',
  'active',
  'killed',
  'deleted',
  'uploading',
  'importing',
  'pending_delete',
  'deactivated',
] as const;
export type ImageStatus = (typeof IMAGE_STATUSES)[number];

export const VISIBILITIES = ['community', 'public', 'private', 'shared'] as const;
export type Visibility = (typeof VISIBILITIES)[number];

export const CONTAINER_FORMATS = ['ami', 'ari', 'aki', 'bare', 'ovf', 'ova', 'docker', 'compressed'] as const;
export const DISK_FORMATS = [
  'ami',
  'ari',
  'aki',
  'vhd',
  'vhdx',
  'vmdk',
  'raw',
  'qcow2',
  'vdi',
  'iso',
  'ploop',
] as const;

/** Who provides an image: the platform (stock), a user (custom) or a reviewed third party (catalog). */
export const IMAGE_CLASSES = ['stock', 'custom', 'catalog'] as const;
export type ImageClass = (typeof IMAGE_CLASSES)[number];

/** Where an image is in its supported life, apart from Glance's upload status. */
export const LIFECYCLE_STATES = ['available', 'deprecated', 'obsolete'] as const;
export type LifecycleState = (typeof LIFECYCLE_STATES)[number];

export const MEMBER_STATUSES = ['pending', 'accepted', 'rejected'] as const;
export type MemberStatus = (typeof MEMBER_STATUSES)[number];

/**
 * Glance's allowed status transitions (glance/domain `Image._validate_status_transition`'s table): the one
 * source of every status change the catalog makes, through `isStatusTransitionAllowed` and
 * `statusesThatMayBecome`.
 */
const TRANSITIONS: Record<ImageStatus, readonly ImageStatus[]> = {
  queued: ['saving', 'uploading', 'importing', 'active', 'deleted'],
  saving: ['active', 'killed', 'deleted', 'queued'],
  uploading: ['importing', 'queued', 'deleted'],
  importing: ['active', 'deleted', 'queued'],
  active: ['pending_delete', 'deleted', 'deactivated'],
  killed: ['deleted'],
  pending_delete: ['deleted', 'active'],
  deactivated: ['active', 'deleted'],
  deleted: [],
};

/** Whether an image in `from` may take status `to`; as in Glance, keeping the same status is allowed. */
export function isStatusTransitionAllowed(from: ImageStatus, to: ImageStatus): boolean {
  return from === to || TRANSITIONS[from].includes(to);
}

const SOURCES = Object.fromEntries(
  IMAGE_STATUSES.map((to) => [
    to,
    Object.freeze(IMAGE_STATUSES.filter((from) => TRANSITIONS[from].includes(to))),
  ]),
) as Record<ImageStatus, readonly ImageStatus[]>;

/**
 * The statuses an image may move to `to` from, as `ImageRepository.transitionImage` takes them: all the
 * table allows, or, for an operation that starts from fewer (an upload finishes only from saving), those
 * of `among`. Naming a source the table refuses is a bug in the caller and throws INTERNAL.
 */
export function statusesThatMayBecome(
  to: ImageStatus,
  among?: readonly ImageStatus[],
): readonly ImageStatus[] {
  if (among === undefined) return SOURCES[to];
  const refused = among.filter((from) => !SOURCES[to].includes(from));
  if (refused.length > 0) {
    throw new ImageTrustError('INTERNAL', `Image status ${refused.join(', ')} may not become ${to}.`);
  }
  return among;
}

export interface ImageRecord {
  id: string;
  name: string | null;
  status: ImageStatus;
  visibility: Visibility;
  protected: boolean;
  os_hidden: boolean;
  checksum: string | null;
  os_hash_algo: string | null;
  os_hash_value: string | null;
  owner: string | null;
  size: number | null;
  virtual_size: number | null;
  container_format: string | null;
  disk_format: string | null;
  min_ram: number;
  min_disk: number;
  created_at: string;
  updated_at: string;
  /** Extra properties; Glance flattens them at the top level of the image JSON. */
  properties: Record<string, string>;
  tags: string[];
  /** Where the data lives in the blob store; null until an upload commits. Never shown to clients. */
  blob_key: string | null;
  image_class: ImageClass;
  /** The stored state; `effectiveLifecycle` also applies schedules that are due but not yet stored. */
  lifecycle_state: LifecycleState;
  deprecation_at: string | null;
  obsolescence_at: string | null;
  /** The image to use instead, once this one is deprecated or obsolete. */
  replacement: string | null;
  /** The user who created the image record; null for images created before it was kept. */
  created_by: string | null;
  /** The user whose upload made the image active, and the owner of the certificate that signed it. */
  uploaded_by: string | null;
  signed_by: string | null;
}

export interface ImageMember {
  image_id: string;
  member_id: string;
  status: MemberStatus;
  created_at: string;
  updated_at: string;
}

/** Keys clients may read but never set (Glance answers 403 "Attribute '<k>' is read-only."). */
export const READ_ONLY_ATTRIBUTES = new Set([
  'created_at',
  'updated_at',
  'status',
  'checksum',
  'os_hash_algo',
  'os_hash_value',
  'size',
  'virtual_size',
  'direct_url',
  'self',
  'file',
  'schema',
  'stores',
  // Governance: changed through the lifecycle and release APIs, never by a plain PATCH.
  'image_class',
  'lifecycle_state',
  'deprecation_at',
  'obsolescence_at',
  'replacement',
]);

/** Keys nobody may set (403 "Attribute '<k>' is reserved."); any key starting with os_glance too. */
export const RESERVED_ATTRIBUTES = new Set(['location', 'deleted', 'deleted_at']);

export function isReservedAttribute(key: string): boolean {
  return RESERVED_ATTRIBUTES.has(key) || key.startsWith('os_glance');
}

/** Formats a Date as Glance does: ISO 8601 in UTC, whole seconds, `Z`. */
export function toGlanceTimestamp(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * A new image's governance fields: a custom image, available, with no schedule and no uploader yet
 * (the catalog sets `created_by` to the caller).
 */
export const NEW_IMAGE_GOVERNANCE = {
  image_class: 'custom',
  lifecycle_state: 'available',
  deprecation_at: null,
  obsolescence_at: null,
  replacement: null,
  created_by: null,
  uploaded_by: null,
  signed_by: null,
} as const satisfies Partial<ImageRecord>;

/**
 * The lifecycle state at `now`: a schedule that is due counts even before the scheduler has stored
 * it, so an image is never usable past its obsolescence time.
 */
export function effectiveLifecycle(
  image: Pick<ImageRecord, 'lifecycle_state' | 'deprecation_at' | 'obsolescence_at'>,
  now: Date,
): LifecycleState {
  if (image.lifecycle_state === 'obsolete') return 'obsolete';
  const due = (at: string | null) => at !== null && Date.parse(at) <= now.getTime();
  if (due(image.obsolescence_at)) return 'obsolete';
  if (image.lifecycle_state === 'deprecated' || due(image.deprecation_at)) return 'deprecated';
  return 'available';
}

/**
 * The image as Glance v2 returns it: extra properties first, then every base field (nulls included).
 * Class and lifecycle appear as extra properties, so unmodified Glance clients show them; the
 * lifecycle is the one in effect at `now`, the caller's clock.
 */
export function toImageView(image: ImageRecord, now: Date): Record<string, unknown> {
  const governance: Record<string, string> = {
    image_class: image.image_class,
    lifecycle_state: effectiveLifecycle(image, now),
  };
  if (image.deprecation_at) governance.deprecation_at = image.deprecation_at;
  if (image.obsolescence_at) governance.obsolescence_at = image.obsolescence_at;
  if (image.replacement) governance.replacement = image.replacement;
  return {
    ...image.properties,
    ...governance,
    name: image.name,
    disk_format: image.disk_format,
    container_format: image.container_format,
    visibility: image.visibility,
    size: image.size,
    virtual_size: image.virtual_size,
    status: image.status,
    checksum: image.checksum,
    protected: image.protected,
    min_ram: image.min_ram,
    min_disk: image.min_disk,
    owner: image.owner,
    os_hidden: image.os_hidden,
    os_hash_algo: image.os_hash_algo,
    os_hash_value: image.os_hash_value,
    id: image.id,
    created_at: image.created_at,
    updated_at: image.updated_at,
    tags: image.tags,
    self: `/v2/images/${image.id}`,
    file: `/v2/images/${image.id}/file`,
    schema: '/v2/schemas/image',
  };
}

export function toMemberView(member: ImageMember): Record<string, unknown> {
  return {
    created_at: member.created_at,
    image_id: member.image_id,
    member_id: member.member_id,
    schema: '/v2/schemas/member',
    status: member.status,
    updated_at: member.updated_at,
  };
}
