// Reading the transparency log on a caller's behalf: tree heads and proofs (audit:get_tree_head), entry
// pages (audit:get_entries) and one image's history (audit:get_image_history), each authorized here.
import { NotFoundError } from '../errors/index.ts';
import type { Authorizer, Credentials } from '../identity/index.ts';
import { type AuditEntry, parseAuditLeaf } from './events.ts';
import type { AuditLog, ConsistencyProof, InclusionProof } from './log.ts';
import type { AuditProofBundle } from './proof-bundle.ts';
import type { SignedTreeHead } from './tree-head.ts';

/**
 * A request's parameters, read only after the caller is authorized, so a forbidden caller gets 403
 * whatever it sent.
 */
export type DeferredParams<T> = () => T;

export interface AuditReaderOptions {
  log: AuditLog;
  /** The policy the audit:* rules run under. */
  authorizer: Authorizer;
  /**
   * The project owning an image, as the history rule's target; default: the project recorded in the
   * image's latest image event (which also covers images deleted from the catalog).
   */
  projectOfImage?: (caller: Credentials, imageId: string) => Promise<string | null>;
}

/**
 * The event families whose subject is an image. Subject ids are only unique within their kind (a
 * project may give its image the id of another project's secret), so an image's history is these alone.
 */
const IMAGE_EVENT_FAMILIES = ['image.', 'release.'] as const;

function isImageEvent(leafText: string): boolean {
  const leaf = parseAuditLeaf(leafText);
  return leaf !== null && IMAGE_EVENT_FAMILIES.some((family) => leaf.type.startsWith(family));
}

export class AuditReader {
  readonly #log: AuditLog;
  readonly #authorizer: Authorizer;
  readonly #projectOfImage: AuditReaderOptions['projectOfImage'];

  constructor(options: AuditReaderOptions) {
    this.#log = options.log;
    this.#authorizer = options.authorizer;
    this.#projectOfImage = options.projectOfImage;
  }

  /** The latest signed head and the public key that verifies it. */
  async treeHead(caller: Credentials): Promise<{ head: SignedTreeHead; publicKeyPem: string }> {
    this.#authorizer.enforce('audit:get_tree_head', caller);
    return { head: await this.#log.latestTreeHead(), publicKeyPem: this.#log.publicKeyPem };
  }

  /** Entries with `start <= seq < end` (the log caps the page). */
  async entries(
    caller: Credentials,
    range: DeferredParams<{ start: number; end: number }>,
  ): Promise<{ start: number; entries: AuditEntry[] }> {
    this.#authorizer.enforce('audit:get_entries', caller);
    const { start, end } = range();
    return { start, entries: await this.#log.entries(start, end) };
  }

  async inclusionProof(
    caller: Credentials,
    params: DeferredParams<{ seq: number; treeSize: number }>,
  ): Promise<InclusionProof> {
    this.#authorizer.enforce('audit:get_tree_head', caller);
    const { seq, treeSize } = params();
    return this.#log.inclusionProof(seq, treeSize);
  }

  /** Hashes only, like inclusion proofs: anyone who may see heads may check they extend each other. */
  async consistencyProof(
    caller: Credentials,
    params: DeferredParams<{ first: number; second: number }>,
  ): Promise<ConsistencyProof> {
    this.#authorizer.enforce('audit:get_tree_head', caller);
    const { first, second } = params();
    return this.#log.consistencyProof(first, second);
  }

  /**
   * Every image event about an image, with proofs; NOT_FOUND both when there is none and when the rule
   * says no. The rule's target is the image's project, never that of another kind of subject sharing
   * the id.
   */
  async imageHistory(caller: Credentials, imageId: string): Promise<AuditProofBundle> {
    const bundle = await this.#log.historyOf(imageId);
    const entries = bundle.entries.filter((entry) => isImageEvent(entry.leaf));
    const missing = () => new NotFoundError(`No audit history for image ${imageId}.`);
    if (entries.length === 0) throw missing();
    const projectId = this.#projectOfImage
      ? await this.#projectOfImage(caller, imageId)
      : latestProjectOf(entries.map((entry) => entry.leaf));
    // As Glance hides images a caller may not see, a forbidden history looks like a missing one.
    if (!this.#authorizer.isAllowed('audit:get_image_history', caller, { projectId })) throw missing();
    return { ...bundle, entries };
  }
}

/** The project of the latest leaf that names one. */
function latestProjectOf(leaves: string[]): string | null {
  for (let i = leaves.length - 1; i >= 0; i--) {
    const projectId = parseAuditLeaf(leaves[i])?.project_id;
    if (projectId) return projectId;
  }
  return null;
}
