// The one error base of imagetrust: every failure carries a stable code, and this catalogue maps
// each code to its HTTP status and CLI exit code in one place.

/** Every error code imagetrust can raise, with its HTTP status and CLI exit code. Codes are API: never reuse one. */
export const ERROR_CATALOGUE = {
  BAD_REQUEST: { status: 400, exit: 2, doc: 'The request is malformed or violates the schema.' },
  MALFORMED_JSON: { status: 400, exit: 2, doc: 'The request body is not valid JSON.' },
  SCHEMA_VIOLATION: { status: 400, exit: 2, doc: 'The object does not match the image schema.' },
  INVALID_PATCH: { status: 400, exit: 2, doc: 'The JSON patch is not valid.' },
  INVALID_QUERY: { status: 400, exit: 2, doc: 'A query parameter (sort, limit, marker, filter) is invalid.' },
  FORMATS_NOT_SET: {
    status: 400,
    exit: 2,
    doc: 'disk_format and container_format must be set before data is uploaded.',
  },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, exit: 2, doc: 'The request body has an unsupported content type.' },
  UNAUTHENTICATED: { status: 401, exit: 3, doc: 'No valid token or credentials were given.' },
  FORBIDDEN: { status: 403, exit: 3, doc: 'The policy does not allow this action.' },
  READ_ONLY_ATTRIBUTE: { status: 403, exit: 2, doc: 'A read-only attribute was given.' },
  RESERVED_ATTRIBUTE: { status: 403, exit: 2, doc: 'A reserved attribute was given.' },
  NOT_OWNER: { status: 403, exit: 3, doc: 'Only the owning project (or an admin) may change this image.' },
  IMAGE_PROTECTED: { status: 403, exit: 1, doc: 'The image is protected and cannot be deleted.' },
  METADEF_PROTECTED: {
    status: 403,
    exit: 1,
    doc: 'The metadata definition namespace is protected: neither it nor what it holds can be deleted.',
  },
  IMAGE_DEACTIVATED: {
    status: 403,
    exit: 1,
    doc: 'The image is deactivated; its data cannot be downloaded.',
  },
  NOT_FOUND: { status: 404, exit: 4, doc: 'The resource does not exist or is not visible to you.' },
  METHOD_NOT_ALLOWED: { status: 405, exit: 2, doc: 'The method is not allowed on this resource.' },
  CONFLICT: { status: 409, exit: 1, doc: 'The resource already exists or is in a conflicting state.' },
  AMBIGUOUS_NAME: {
    status: 409,
    exit: 2,
    doc: 'More than one resource has the name given; name it by id.',
  },
  INVALID_STATUS_TRANSITION: { status: 409, exit: 1, doc: 'The image status does not allow this operation.' },
  IMAGE_TOO_LARGE: { status: 413, exit: 1, doc: 'The upload exceeds image_size_cap.' },
  RANGE_NOT_SATISFIABLE: {
    status: 416,
    exit: 2,
    doc: 'The requested byte range lies outside the image data.',
  },
  QUOTA_EXCEEDED: {
    status: 413,
    exit: 1,
    doc: 'A per-image limit (properties, tags, members) was exceeded.',
  },
  // Glance answers a body cut short with 500; we keep its status but say what happened.
  UPLOAD_INCOMPLETE: { status: 500, exit: 74, doc: 'The upload stream ended before all data arrived.' },
  IMAGE_GONE: { status: 410, exit: 1, doc: 'The image was deleted while its data was being uploaded.' },
  NOT_ACCEPTABLE: { status: 406, exit: 2, doc: 'No representation matches the Accept header.' },
  IMAGE_OBSOLETE: {
    status: 409,
    exit: 6,
    doc: 'The image is obsolete: it cannot be booted, downloaded by non-admins, shared or made public.',
  },
  LIFECYCLE_INVALID: {
    status: 409,
    exit: 1,
    doc: 'The lifecycle change or schedule is not allowed (order of dates, a time in the past, no way back from obsolete).',
  },
  RELEASE_REQUIRED: {
    status: 403,
    exit: 3,
    doc: 'Images become public (stock) or catalog images only through an approved release request.',
  },
  RELEASE_NOT_READY: {
    status: 409,
    exit: 1,
    doc: 'The image does not meet a release requirement (active, not obsolete, signed, compliance report, boot test, provenance).',
  },
  SEPARATION_OF_DUTIES: {
    status: 403,
    exit: 3,
    doc: 'An approver may not approve a release of an image they uploaded, signed or asked to release.',
  },
  STORAGE_FULL: { status: 413, exit: 74, doc: 'The blob store has no space left.' },
  TOO_MANY_UPLOADS: {
    status: 503,
    exit: 75,
    doc: 'The server already takes as many uploads as it is configured for (uploads.maxConcurrent); retry after the Retry-After seconds.',
  },
  BODY_TIMEOUT: {
    status: 408,
    exit: 74,
    doc: 'The request body stalled or arrived slower than the configured minimum rate; the upload was aborted and the image queued again.',
  },
  BLOB_STORE_UNAVAILABLE: {
    status: 503,
    exit: 69,
    doc: 'The object store holding image data did not answer or answered with a server error; retry once it is back (nothing needs restarting).',
  },
  METADATA_STORE_FULL: {
    status: 503,
    exit: 74,
    doc: 'The metadata store has no space left (disk full); nothing was changed. An operator must free space.',
  },
  METADATA_STORE_UNAVAILABLE: {
    status: 503,
    exit: 69,
    doc: 'The metadata store (the database) cannot be reached or dropped the connection, restarting for instance; retry after the Retry-After seconds. A change whose answer was this may or may not have been made: read it back.',
  },
  SIGNATURE_MALFORMED: {
    status: 400,
    exit: 5,
    doc: 'The img_signature* properties are malformed (base64, hash method or key type).',
  },
  SIGNATURE_INVALID: { status: 400, exit: 5, doc: 'The signature does not match the image data.' },
  SIGNATURE_REQUIRED: {
    status: 400,
    exit: 5,
    doc: 'The project requires signed images and the image carries no complete signature.',
  },
  CERTIFICATE_NOT_FOUND: { status: 400, exit: 5, doc: 'The signing certificate is not in the key manager.' },
  CERTIFICATE_INVALID: {
    status: 400,
    exit: 5,
    doc: 'The signing certificate is unusable: wrong secret type, format or key type.',
  },
  CERTIFICATE_EXPIRED: {
    status: 400,
    exit: 5,
    doc: 'The signing certificate is outside its validity period.',
  },
  CERTIFICATE_UNTRUSTED: {
    status: 400,
    exit: 5,
    doc: 'The signing certificate does not chain to a trusted certificate.',
  },
  SECRET_TOO_LARGE: {
    status: 413,
    exit: 1,
    doc: 'The secret payload exceeds the key manager limit (20000 bytes, as Barbican).',
  },
  SECRET_CORRUPT: {
    status: 500,
    exit: 70,
    doc: 'A stored secret failed its integrity check or its key-encryption key is missing.',
  },
  POLICY_INVALID: {
    status: 400,
    exit: 2,
    doc: 'The containers policy.json or registries.d configuration is malformed or violates its schema.',
  },
  POLICY_REJECTED: {
    status: 403,
    exit: 6,
    doc: 'The containers signature policy does not allow this image.',
  },
  REFERENCE_INVALID: {
    status: 400,
    exit: 2,
    doc: 'The container image reference or image name is malformed.',
  },
  SIGNATURE_REJECTED: {
    status: 403,
    exit: 6,
    doc: 'A container image signature was not accepted by a policy requirement.',
  },
  SOURCE_LIST_UNTRUSTED: {
    status: 400,
    exit: 1,
    doc: 'The checksum list has no valid detached OpenPGP signature by a key in the keyring; nothing in it is trusted.',
  },
  SOURCE_NOT_LISTED: {
    status: 404,
    exit: 1,
    doc: 'The signed checksum list has no usable line for the file (none, or conflicting ones).',
  },
  SOURCE_DIGEST_MISMATCH: {
    status: 422,
    exit: 1,
    doc: 'The file digest differs from its line in the signed checksum list; a download is deleted.',
  },
  SOURCE_DOWNLOAD_FAILED: {
    status: 502,
    exit: 69,
    doc: 'The source media could not be downloaded completely; a partial download is kept for resuming.',
  },
  DISK_CORRUPT: {
    status: 422,
    exit: 65,
    doc: 'The disk image, partition table, filesystem or archive is corrupt or truncated.',
  },
  DISK_UNSUPPORTED: {
    status: 422,
    exit: 65,
    doc: 'The disk image format, partition layout or filesystem is not supported (or refers to files outside it).',
  },
  DISK_PATH_REFUSED: {
    status: 400,
    exit: 65,
    doc: 'The path escapes the image root or runs into a symlink loop.',
  },
  DISK_FILE_TOO_LARGE: {
    status: 413,
    exit: 1,
    doc: 'The file inside the image is larger than the read limit.',
  },
  TEMPLATE_UNBUILDABLE: {
    status: 422,
    exit: 65,
    doc: 'The build template has lint errors or asks for what the builder does not do (an ISO install, a distribution it cannot bootstrap); nothing was built.',
  },
  BUILD_FAILED: {
    status: 500,
    exit: 1,
    doc: "A build stage failed (the archive's signature, a package, a template command, the disk); the report names the stage and its log, and nothing half-built is kept.",
  },
  SYSPREP_REFUSED: {
    status: 409,
    exit: 1,
    doc: 'Sysprep refused an operation that would leave the guest broken (e.g. SSH host keys with no regenerator); pass --force to run it anyway.',
  },
  REGISTRY_UNREACHABLE: {
    status: 502,
    exit: 69,
    doc: 'The container registry could not be reached (connection refused, unknown host, timeout) or answered with a server error.',
  },
  REGISTRY_TLS: {
    status: 502,
    exit: 76,
    doc: 'The TLS connection to the container registry failed: an untrusted or invalid certificate, or a plain-HTTP registry (use --tls-verify=false).',
  },
  SIGNATURE_FETCH_FAILED: {
    status: 502,
    exit: 69,
    doc: 'A container image signature could not be read from its lookaside or registry; no verdict was reached.',
  },
  LOG_TAMPERED: {
    status: 500,
    exit: 65,
    doc: 'The stored transparency log no longer matches what was appended and signed (an entry or head was changed, removed or inserted); run `imagetrust audit verify`.',
  },
  USAGE: {
    status: 400,
    exit: 2,
    doc: 'The command line is wrong: an unknown command or option, a missing argument or an invalid option value.',
  },
  INPUT_UNREADABLE: {
    status: 400,
    exit: 66,
    doc: 'A file named on the command line does not exist or cannot be read.',
  },
  OUTPUT_UNWRITABLE: {
    status: 500,
    exit: 73,
    doc: 'A file or directory named on the command line for output cannot be created or written (a missing or read-only directory, a path through a regular file); nothing was left half-written there.',
  },
  INPUT_INVALID: {
    status: 422,
    exit: 65,
    doc: 'An input file is corrupt or of an unsupported kind (e.g. a key of the wrong type or a malformed PEM).',
  },
  SERVICE_UNREACHABLE: {
    status: 502,
    exit: 69,
    doc: 'The imagetrust server could not be reached: connection refused, no such host, network unreachable, timed out, or, for an image download (`imagetrust fetch`, the boot gate), it sent nothing for 60 s mid-transfer. (A container registry is REGISTRY_UNREACHABLE.)',
  },
  TLS_FAILED: {
    status: 502,
    exit: 76,
    doc: 'The TLS connection to the imagetrust server failed: untrusted or mismatched certificate, or the peer does not speak TLS. (A container registry is REGISTRY_TLS.)',
  },
  ATTESTATION_MALFORMED: {
    status: 400,
    exit: 65,
    doc: 'The DSSE envelope or the in-toto statement in it is malformed: wrong JSON types, bad base64, too large, an unexpected payload type or predicate.',
  },
  ATTESTATION_INVALID: {
    status: 400,
    exit: 5,
    doc: 'The attestation signature made with a trusted key does not verify over the envelope (PAE); the envelope was altered or signed wrongly.',
  },
  ATTESTATION_UNTRUSTED: {
    status: 400,
    exit: 5,
    doc: 'No signature on the attestation was made by a trusted build key (provenance.trustedKeys), or none is configured.',
  },
  TOOL_MISSING: {
    status: 500,
    exit: 69,
    doc: 'A host tool or privilege the command needs is missing (a Debian package, root); the message names the package to install.',
  },
  BOOT_HARNESS_FAILED: {
    status: 500,
    exit: 69,
    doc: 'The boot-test harness could not be set up on this host (network namespace, taps, DHCP server); nothing was judged.',
  },
  CONFIG_INVALID: { status: 500, exit: 78, doc: 'The configuration is invalid.' },
  INTERNAL: { status: 500, exit: 70, doc: 'An unexpected internal error.' },
} as const satisfies Record<string, { status: number; exit: number; doc: string }>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

export interface ImageTrustErrorOptions {
  cause?: unknown;
  /** Extra response headers the HTTP edge should send (e.g. Allow, Accept-Patch). */
  headers?: Record<string, string>;
  /**
   * The message is a detail under the status's generic explanation rather than the explanation itself;
   * Glance (webob) renders the two differently and clients that parse bodies see the difference.
   */
  detail?: boolean;
}

/** The base of every error imagetrust throws; `code` is stable, `message` tells the user what to do. */
export class ImageTrustError<C extends ErrorCode = ErrorCode> extends Error {
  readonly code: C;
  readonly headers: Record<string, string>;
  readonly detail: boolean;

  constructor(code: C, message: string, options: ImageTrustErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.headers = options.headers ?? {};
    this.detail = options.detail ?? false;
  }

  get status(): number {
    return ERROR_CATALOGUE[this.code].status;
  }

  get exitCode(): number {
    return ERROR_CATALOGUE[this.code].exit;
  }
}

type CodesOf<F extends ErrorCode> = F;

export class ValidationError extends ImageTrustError<
  CodesOf<
    | 'BAD_REQUEST'
    | 'MALFORMED_JSON'
    | 'SCHEMA_VIOLATION'
    | 'INVALID_PATCH'
    | 'INVALID_QUERY'
    | 'FORMATS_NOT_SET'
    | 'UNSUPPORTED_MEDIA_TYPE'
    | 'READ_ONLY_ATTRIBUTE'
    | 'RESERVED_ATTRIBUTE'
    | 'RANGE_NOT_SATISFIABLE'
    | 'METHOD_NOT_ALLOWED'
    | 'NOT_ACCEPTABLE'
  >
> {}
export class AuthError extends ImageTrustError<'UNAUTHENTICATED' | 'FORBIDDEN' | 'NOT_OWNER'> {}
export class NotFoundError extends ImageTrustError<'NOT_FOUND'> {
  constructor(message: string, options?: ImageTrustErrorOptions) {
    super('NOT_FOUND', message, options);
  }
}
export class ConflictError extends ImageTrustError<
  | 'CONFLICT'
  | 'AMBIGUOUS_NAME'
  | 'INVALID_STATUS_TRANSITION'
  | 'IMAGE_PROTECTED'
  | 'METADEF_PROTECTED'
  | 'IMAGE_DEACTIVATED'
  | 'QUOTA_EXCEEDED'
> {}
/** Lifecycle and release rules: obsolete images, invalid schedules, releases and their separation of duties. */
export class GovernanceError extends ImageTrustError<
  'IMAGE_OBSOLETE' | 'LIFECYCLE_INVALID' | 'RELEASE_REQUIRED' | 'RELEASE_NOT_READY' | 'SEPARATION_OF_DUTIES'
> {}
export class IntegrityError extends ImageTrustError<
  'UPLOAD_INCOMPLETE' | 'IMAGE_TOO_LARGE' | 'STORAGE_FULL' | 'IMAGE_GONE' | 'LOG_TAMPERED' | 'BODY_TIMEOUT'
> {}
/** The service is short of a resource for now: too many uploads, a full metadata disk, a store down. */
export class UnavailableError extends ImageTrustError<
  'TOO_MANY_UPLOADS' | 'METADATA_STORE_FULL' | 'METADATA_STORE_UNAVAILABLE' | 'BLOB_STORE_UNAVAILABLE'
> {}
export class VerificationError extends ImageTrustError<
  | 'SIGNATURE_MALFORMED'
  | 'SIGNATURE_INVALID'
  | 'SIGNATURE_REQUIRED'
  | 'CERTIFICATE_NOT_FOUND'
  | 'CERTIFICATE_INVALID'
  | 'CERTIFICATE_EXPIRED'
  | 'CERTIFICATE_UNTRUSTED'
> {}
/** A signed attestation (DSSE envelope, in-toto statement) that was refused: malformed, bad signature, untrusted key. */
export class AttestationError extends ImageTrustError<
  'ATTESTATION_MALFORMED' | 'ATTESTATION_INVALID' | 'ATTESTATION_UNTRUSTED'
> {}
/** Source media refused: an untrusted checksum list, no line for the file, a digest mismatch or a failed download. */
export class SourceError extends ImageTrustError<
  'SOURCE_LIST_UNTRUSTED' | 'SOURCE_NOT_LISTED' | 'SOURCE_DIGEST_MISMATCH' | 'SOURCE_DOWNLOAD_FAILED'
> {}
/** Building an image: an unbuildable template, a failed stage or a missing host tool. */
export class BuildError extends ImageTrustError<'TEMPLATE_UNBUILDABLE' | 'BUILD_FAILED' | 'TOOL_MISSING'> {}
/** A container registry or signature store that could not be read: no verdict, and the cause says why. */
export class RegistryError extends ImageTrustError<
  'REGISTRY_UNREACHABLE' | 'REGISTRY_TLS' | 'SIGNATURE_FETCH_FAILED'
> {}
export class ConfigError extends ImageTrustError<'CONFIG_INVALID'> {
  constructor(message: string, options?: ImageTrustErrorOptions) {
    super('CONFIG_INVALID', message, options);
  }
}

/** Where in a configuration file a problem sits; lines and columns count from 1. */
export interface SourcePosition {
  offset: number;
  line: number;
  column: number;
}

export interface PolicyErrorOptions extends ImageTrustErrorOptions {
  position?: SourcePosition;
}

/** Container signature policy failures: malformed policy or references, and rejected images or signatures. */
export class PolicyError extends ImageTrustError<
  'POLICY_INVALID' | 'POLICY_REJECTED' | 'REFERENCE_INVALID' | 'SIGNATURE_REJECTED'
> {
  readonly position?: SourcePosition;

  constructor(
    code: 'POLICY_INVALID' | 'POLICY_REJECTED' | 'REFERENCE_INVALID' | 'SIGNATURE_REJECTED',
    message: string,
    options: PolicyErrorOptions = {},
  ) {
    super(code, message, options);
    if (options.position) this.position = options.position;
  }
}

/** Wraps anything thrown by foreign code so callers only ever see ImageTrustError. */
export function toImageTrustError(error: unknown): ImageTrustError {
  if (error instanceof ImageTrustError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new ImageTrustError('INTERNAL', `Internal error: ${message}`, { cause: error });
}

// Node's codes for a peer that could not be reached, and for a TLS handshake or certificate failure.
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ETIMEDOUT',
]);
const TLS_CODES = new Set([
  'EPROTO',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_REJECTED',
  'CERT_UNTRUSTED',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
]);

function errnoCodes(error: unknown): string[] {
  if (!(error instanceof Error)) return [];
  const own = (error as NodeJS.ErrnoException).code;
  // Happy eyeballs tries every address and reports an AggregateError over the attempts.
  const nested = error instanceof AggregateError ? error.errors.flatMap(errnoCodes) : [];
  return [...(typeof own === 'string' ? [own] : []), ...nested];
}

/**
 * The code of a failed connection to our server (or anything else not classified where it failed):
 * SERVICE_UNREACHABLE when nothing answered, TLS_FAILED when the handshake or the peer's certificate
 * failed, undefined for anything else.
 * Registry and lookaside requests are classified by containers/registry/transport-errors.ts instead
 * (REGISTRY_UNREACHABLE, REGISTRY_TLS, SIGNATURE_FETCH_FAILED), with the same exit codes 69 and 76.
 */
export function connectionErrorCode(error: unknown): 'SERVICE_UNREACHABLE' | 'TLS_FAILED' | undefined {
  const codes = errnoCodes(error);
  if (codes.some((code) => TLS_CODES.has(code) || /^ERR_(SSL|TLS)_/.test(code))) return 'TLS_FAILED';
  if (codes.some((code) => UNREACHABLE_CODES.has(code))) return 'SERVICE_UNREACHABLE';
  return undefined;
}

/**
 * A request's socket error as ours: an ImageTrustError passes through, anything else gets its
 * connectionErrorCode (or `otherwise`), `message` followed by the error's own, and the error as cause.
 */
export function connectionFailure(error: Error, message: string, otherwise: ErrorCode): ImageTrustError {
  if (error instanceof ImageTrustError) return error;
  return new ImageTrustError(connectionErrorCode(error) ?? otherwise, `${message}: ${error.message}`, {
    cause: error,
  });
}
