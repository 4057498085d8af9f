// Image governance: lifecycle changes and schedules, reports (compliance, boot test, provenance), and release requests that a
// second person approves. Every change is written to the transparency log.
import { createHash, randomUUID } from 'node:crypto';
import { AttestationError, GovernanceError, NotFoundError } from '../errors/index.ts';
import type { DomainEvent, EventRecorder } from '../events/index.ts';
import { type Authorizer, type Credentials, defaultAuthorizer } from '../identity/index.ts';
import { planLifecycleChange, readLifecycleRequest } from './lifecycle.ts';
import { effectiveLifecycle, type ImageRecord, toGlanceTimestamp } from './model.ts';
import type { Clock, IdGenerator, ImageRepository, ReleaseRepository } from './ports.ts';
import {
  assertReleasable,
  assertSeparateApprover,
  type ImageReport,
  type ReleaseRequest,
  type ReleaseStatus,
  type ReportKind,
  readBootTestReport,
  readComplianceReport,
  readReleaseDecision,
  readReleaseRequest,
  sameDigest,
  type VerifiedProvenance,
} from './releases.ts';

export interface GovernanceServiceOptions {
  images: ImageRepository;
  releases: ReleaseRepository;
  /** Finds an image the caller may see (404 otherwise); the catalog's visibility rules apply. */
  findVisibleImage(credentials: Credentials, id: string): Promise<ImageRecord>;
  authorizer?: Authorizer;
  /** Where every change is recorded, in the change's own transaction. */
  events: EventRecorder;
  clock: Clock;
  newId?: IdGenerator;
  requireComplianceReport?: boolean;
  /** A release needs a passing boot-test report bound to the image's data. */
  requireBootTest?: boolean;
  /** A release needs a provenance attestation, verified with a trusted key, about the image's data. */
  requireProvenance?: boolean;
  /**
   * Verifies a provenance envelope (JSON text) with the trusted build keys, or throws a coded error.
   * Absent when no trusted key is configured: provenance is then refused, never taken unverified.
   */
  verifyProvenance?(envelope: string): VerifiedProvenance;
  signaturesRequired?(projectId: string | null): Promise<boolean> | boolean;
  /** Null when the image's signing certificate chains to a trusted certificate now; otherwise why not. */
  signerTrustProblem?(image: ImageRecord): Promise<string | null>;
}

const MAX_REPORT_BYTES = 4 * 1024 * 1024;
const DUE_BATCH = 100;

export class GovernanceService {
  readonly #o: GovernanceServiceOptions;
  readonly #authorizer: Authorizer;
  readonly #clock: Clock;

  constructor(options: GovernanceServiceOptions) {
    this.#o = options;
    this.#authorizer = options.authorizer ?? defaultAuthorizer;
    this.#clock = options.clock;
  }

  #actor(credentials: Credentials): DomainEvent['actor'] {
    return { userId: credentials.userId, userName: credentials.userName, projectId: credentials.projectId };
  }

  /** Changes or schedules an image's lifecycle; leaving obsolete needs `image:restore_obsolete`. */
  async setLifecycle(credentials: Credentials, id: string, body: unknown): Promise<ImageRecord> {
    const request = readLifecycleRequest(body);
    const image = await this.#o.findVisibleImage(credentials, id);
    this.#authorizer.enforce('image:set_lifecycle', credentials, { projectId: image.owner });
    const now = this.#clock.now();
    const plan = planLifecycleChange(image, request, now);
    if (plan.restoresObsolete) {
      this.#authorizer.enforce(
        'image:restore_obsolete',
        credentials,
        { projectId: image.owner },
        `Image ${id} is obsolete; only an administrator can bring it back.`,
      );
    }
    if (plan.fields.replacement && plan.fields.replacement !== image.replacement) {
      const replacement = await this.#o
        .findVisibleImage(credentials, plan.fields.replacement)
        .catch(() => null);
      if (!replacement) {
        throw new GovernanceError(
          'LIFECYCLE_INVALID',
          `Replacement image ${plan.fields.replacement} does not exist.`,
        );
      }
      if (effectiveLifecycle(replacement, now) === 'obsolete') {
        throw new GovernanceError(
          'LIFECYCLE_INVALID',
          `Replacement image ${replacement.id} is itself obsolete.`,
        );
      }
    }
    const stamp = toGlanceTimestamp(now);
    await this.#o.events.withEvents(async (record) => {
      if (!(await this.#o.images.updateGovernance(id, image.lifecycle_state, plan.fields, stamp))) {
        throw new GovernanceError(
          'LIFECYCLE_INVALID',
          `Image ${id} changed while its lifecycle was being set; try again.`,
        );
      }
      record({
        type: 'image.lifecycle_changed',
        actor: this.#actor(credentials),
        projectId: image.owner,
        subjectId: id,
        details: { from: plan.from, to: plan.to, ...plan.fields },
      });
    });
    return { ...image, ...plan.fields, updated_at: stamp };
  }

  /** Stores every schedule that has come due; returns how many images changed. Safe in many processes. */
  async applyDueSchedules(): Promise<number> {
    const now = this.#clock.now();
    const stamp = toGlanceTimestamp(now);
    let changed = 0;
    for (;;) {
      const due = await this.#o.images.listDueLifecycle(stamp, DUE_BATCH);
      let progressed = false;
      for (const image of due) {
        const to = effectiveLifecycle(image, now);
        // Conditional on the stored state: when two schedulers race, one writes and logs.
        const stored = await this.#o.events.withEvents(async (record) => {
          const won = await this.#o.images.updateGovernance(
            image.id,
            image.lifecycle_state,
            { lifecycle_state: to },
            stamp,
          );
          if (won) {
            record({
              type: 'image.lifecycle_changed',
              actor: null,
              projectId: image.owner,
              subjectId: image.id,
              details: {
                from: image.lifecycle_state,
                to,
                scheduled: true,
                deprecation_at: image.deprecation_at,
                obsolescence_at: image.obsolescence_at,
              },
            });
          }
          return won;
        });
        if (!stored) continue;
        progressed = true;
        changed++;
      }
      if (due.length < DUE_BATCH || !progressed) return changed;
    }
  }

  /**
   * Attaches a report of one kind as the image's current report of that kind: the JSON of
   * `imagetrust scan --format json` (compliance), of `imagetrust test-boot --format json` (boot-test),
   * or a DSSE envelope of the build's provenance verified with a trusted key (provenance).
   */
  async attachReport(
    credentials: Credentials,
    id: string,
    document: string,
    kind: ReportKind = 'compliance',
  ): Promise<ImageReport & { details: Record<string, unknown> }> {
    const image = await this.#o.findVisibleImage(credentials, id);
    this.#authorizer.enforce('image:attach_report', credentials, { projectId: image.owner });
    if (Buffer.byteLength(document) > MAX_REPORT_BYTES) {
      throw new GovernanceError(
        'RELEASE_NOT_READY',
        `A ${kind} report may be at most ${MAX_REPORT_BYTES} bytes.`,
      );
    }
    const otherData = (what: string, sha512: string) =>
      new GovernanceError(
        'RELEASE_NOT_READY',
        `This ${what} was made for other data (sha512 ${sha512.slice(0, 16)}…) than image ${id} holds (${image.os_hash_value ? `${image.os_hash_value.slice(0, 16)}…` : 'no data yet'}).`,
      );
    let passed: boolean;
    let details: Record<string, unknown>;
    switch (kind) {
      case 'compliance': {
        const read = readComplianceReport(document);
        if (read.imageSha512 !== null && read.imageSha512 !== image.os_hash_value)
          throw otherData('report', read.imageSha512);
        passed = read.passed;
        details = { passed, failed: read.failed, image_sha512: read.imageSha512 };
        break;
      }
      case 'boot-test': {
        // A boot test proves something only about the bytes it booted: they must be this image's.
        const read = readBootTestReport(document);
        if (!sameDigest(read.imageSha512, image.os_hash_value))
          throw otherData('boot-test report', read.imageSha512);
        passed = read.passed;
        details = {
          passed,
          failed: read.failed,
          ran: read.ran,
          image_sha512: read.imageSha512,
          profile: read.profile,
          firmware: read.firmware,
          accelerator: read.accelerator,
        };
        break;
      }
      case 'provenance': {
        if (!this.#o.verifyProvenance) {
          throw new AttestationError(
            'ATTESTATION_UNTRUSTED',
            'Provenance cannot be verified: no trusted build key is configured. Set provenance.trustedKeys (IMAGETRUST_PROVENANCE_TRUSTED_KEYS) to the PEM public keys builds sign with.',
          );
        }
        const verified = this.#o.verifyProvenance(document);
        if (!sameDigest(verified.subjectSha512, image.os_hash_value))
          throw otherData('provenance attestation', verified.subjectSha512);
        passed = true;
        details = {
          passed,
          subject_sha512: verified.subjectSha512,
          builder_id: verified.builderId,
          key_id: verified.keyid,
        };
        break;
      }
    }
    const report: ImageReport = {
      image_id: id,
      kind,
      document,
      digest: `sha256:${createHash('sha256').update(document).digest('hex')}`,
      passed,
      attached_by: credentials.userId,
      attached_at: toGlanceTimestamp(this.#clock.now()),
    };
    await this.#o.events.withEvents(async (record) => {
      await this.#o.releases.saveReport(report);
      record({
        type: 'image.report_attached',
        actor: this.#actor(credentials),
        projectId: image.owner,
        subjectId: id,
        contentDigest: report.digest,
        details: { kind, digest: report.digest, ...details },
      });
    });
    return { ...report, details };
  }

  async getReport(
    credentials: Credentials,
    id: string,
    kind: ReportKind = 'compliance',
  ): Promise<ImageReport> {
    await this.#o.findVisibleImage(credentials, id);
    const report = await this.#o.releases.findReport(id, kind);
    if (!report) throw new NotFoundError(`Image ${id} has no ${kind} report.`);
    return report;
  }

  /** The attached provenance verified again with today's trusted keys (a key may have been withdrawn). */
  #checkProvenance(report: ImageReport | null): VerifiedProvenance | { problem: string } | null {
    if (!report) return null;
    if (!this.#o.verifyProvenance)
      return { problem: 'no trusted build key is configured (provenance.trustedKeys)' };
    try {
      return this.#o.verifyProvenance(report.document);
    } catch (error) {
      return { problem: (error as Error).message };
    }
  }

  async #requirements(image: ImageRecord) {
    const provenance = this.#o.requireProvenance
      ? await this.#o.releases.findReport(image.id, 'provenance')
      : null;
    const signaturesRequired = (await this.#o.signaturesRequired?.(image.owner)) ?? false;
    return {
      signaturesRequired,
      signerTrustProblem:
        signaturesRequired && image.signed_by ? ((await this.#o.signerTrustProblem?.(image)) ?? null) : null,
      requireComplianceReport: this.#o.requireComplianceReport ?? false,
      report: this.#o.requireComplianceReport
        ? await this.#o.releases.findReport(image.id, 'compliance')
        : null,
      requireBootTest: this.#o.requireBootTest ?? false,
      bootTest: this.#o.requireBootTest ? await this.#o.releases.findReport(image.id, 'boot-test') : null,
      requireProvenance: this.#o.requireProvenance ?? false,
      provenance,
      provenanceCheck: this.#checkProvenance(provenance),
    };
  }

  async requestRelease(credentials: Credentials, id: string, body: unknown): Promise<ReleaseRequest> {
    const { target, reason } = readReleaseRequest(body);
    const image = await this.#o.findVisibleImage(credentials, id);
    this.#authorizer.enforce('image:request_release', credentials, { projectId: image.owner });
    const now = this.#clock.now();
    assertReleasable(image, target, now, await this.#requirements(image));
    const pending = await this.#o.releases.listReleases({ imageId: id, status: 'pending' });
    if (pending.length) {
      throw new GovernanceError(
        'RELEASE_NOT_READY',
        `Image ${id} already has a pending release request (${pending[0].id}); approve or reject it first.`,
      );
    }
    const request: ReleaseRequest = {
      id: (this.#o.newId ?? randomUUID)(),
      image_id: id,
      target,
      status: 'pending',
      requested_by: credentials.userId,
      requested_at: toGlanceTimestamp(now),
      reason,
      decided_by: null,
      decided_at: null,
      decision_reason: null,
    };
    await this.#o.events.withEvents(async (record) => {
      await this.#o.releases.createRelease(request);
      record({
        type: 'release.requested',
        actor: this.#actor(credentials),
        projectId: image.owner,
        subjectId: id,
        contentDigest: image.os_hash_value ? `sha512:${image.os_hash_value}` : null,
        details: { request_id: request.id, target, reason },
      });
    });
    return request;
  }

  /** The request and its image, read with the service's authority; 404 when either is gone. */
  async #loadRequest(requestId: string): Promise<{ request: ReleaseRequest; image: ImageRecord }> {
    const request = await this.#o.releases.findRelease(requestId);
    const image = request ? await this.#o.images.findImage(request.image_id) : null;
    if (!request || !image || image.status === 'deleted') {
      throw new NotFoundError(`Release request ${requestId} not found.`);
    }
    return { request, image };
  }

  async approveRelease(credentials: Credentials, requestId: string, body: unknown): Promise<ReleaseRequest> {
    const { reason } = readReleaseDecision(body, false);
    const { request, image } = await this.#loadRequest(requestId);
    this.#authorizer.enforce(
      'image:decide_release',
      credentials,
      { projectId: image.owner },
      'You are not authorized to approve releases.',
    );
    this.#assertPending(request);
    // Whatever the policy file says, the approver is not the uploader, the signer or the requester.
    assertSeparateApprover(credentials.userId, image, request);
    const now = this.#clock.now();
    // The image may have changed since the request: check again at the moment of release.
    assertReleasable(image, request.target, now, await this.#requirements(image));
    const decision = {
      decided_by: credentials.userId,
      decided_at: toGlanceTimestamp(now),
      decision_reason: reason,
    };
    // The decision, the publication and their events commit together, or none does.
    const outcome = await this.#o.events.withEvents(async (record) => {
      const result = await this.#o.releases.approveAndPublish(request.id, decision, {
        imageId: image.id,
        expectedLifecycle: image.lifecycle_state,
        imageClass: request.target,
      });
      if (result !== 'approved') return result;
      record({
        type: 'release.approved',
        actor: this.#actor(credentials),
        projectId: image.owner,
        subjectId: image.id,
        contentDigest: image.os_hash_value ? `sha512:${image.os_hash_value}` : null,
        details: { request_id: request.id, target: request.target, reason },
      });
      record({
        type: 'image.visibility_changed',
        actor: this.#actor(credentials),
        projectId: image.owner,
        subjectId: image.id,
        details: { from: image.visibility, to: 'public', image_class: request.target, release: request.id },
      });
      return result;
    });
    if (outcome === 'already-decided') {
      this.#assertPending((await this.#o.releases.findRelease(request.id)) ?? request);
    }
    if (outcome === 'image-changed') {
      throw new GovernanceError(
        'RELEASE_NOT_READY',
        `Image ${image.id} changed during the release; ask again.`,
      );
    }
    return { ...request, status: 'approved', ...decision };
  }

  async rejectRelease(credentials: Credentials, requestId: string, body: unknown): Promise<ReleaseRequest> {
    const { reason } = readReleaseDecision(body, true);
    const { request, image } = await this.#loadRequest(requestId);
    this.#authorizer.enforce(
      'image:decide_release',
      credentials,
      { projectId: image.owner },
      'You are not authorized to reject releases.',
    );
    this.#assertPending(request);
    return this.#o.events.withEvents(async (record) => {
      const decided = await this.#reject(request, credentials, reason, this.#clock.now());
      record({
        type: 'release.rejected',
        actor: this.#actor(credentials),
        projectId: image.owner,
        subjectId: image.id,
        details: { request_id: request.id, target: request.target, reason },
      });
      return decided;
    });
  }

  #assertPending(request: ReleaseRequest): void {
    if (request.status !== 'pending') {
      throw new GovernanceError(
        'RELEASE_NOT_READY',
        `Release request ${request.id} was already ${request.status} by ${request.decided_by} at ${request.decided_at}.`,
      );
    }
  }

  /** Records a rejection while the request is pending (approvals go through approveAndPublish). */
  async #reject(
    request: ReleaseRequest,
    credentials: Credentials,
    reason: string | null,
    now: Date,
  ): Promise<ReleaseRequest> {
    const decision = {
      status: 'rejected' as const,
      decided_by: credentials.userId,
      decided_at: toGlanceTimestamp(now),
      decision_reason: reason,
    };
    if (!(await this.#o.releases.decideRelease(request.id, decision))) {
      const now = await this.#o.releases.findRelease(request.id);
      this.#assertPending(now ?? request);
    }
    return { ...request, ...decision };
  }

  /**
   * Release requests the caller may see: those of images visible to them, and, for approvers,
   * those they could decide.
   */
  async listReleases(
    credentials: Credentials,
    filter: { imageId?: string; status?: ReleaseStatus },
  ): Promise<ReleaseRequest[]> {
    this.#authorizer.enforce('image:get_releases', credentials, { projectId: credentials.projectId });
    if (filter.imageId) await this.#o.findVisibleImage(credentials, filter.imageId);
    const out: ReleaseRequest[] = [];
    for (const request of await this.#o.releases.listReleases(filter)) {
      const image = await this.#o.images.findImage(request.image_id);
      if (!image || image.status === 'deleted') continue;
      const visible =
        filter.imageId !== undefined ||
        this.#authorizer.isAllowed('image:decide_release', credentials, { projectId: image.owner }) ||
        (await this.#o.findVisibleImage(credentials, image.id).then(
          () => true,
          () => false,
        ));
      if (visible) out.push(request);
    }
    return out;
  }

  async getRelease(credentials: Credentials, requestId: string): Promise<ReleaseRequest> {
    const { request, image } = await this.#loadRequest(requestId);
    this.#authorizer.enforce('image:get_releases', credentials, { projectId: credentials.projectId });
    const visible =
      this.#authorizer.isAllowed('image:decide_release', credentials, { projectId: image.owner }) ||
      (await this.#o.findVisibleImage(credentials, image.id).then(
        () => true,
        () => false,
      ));
    if (!visible) throw new NotFoundError(`Release request ${requestId} not found.`);
    return request;
  }
}
