// Release requests and the reports attached to images (one per image and kind) on SQL. A decision is a conditional update, so
// two approvers acting at once cannot both decide the same request.
import type {
  ImageReport,
  LifecycleState,
  ReleaseRepository,
  ReleaseRequest,
  ReleaseStatus,
  ReportKind,
} from '../../catalog/index.ts';
import { type SqlDatabase, type SqlValue, wrapSqlError } from './database.ts';

const COLUMNS = [
  'id',
  'image_id',
  'target',
  'status',
  'requested_by',
  'requested_at',
  'reason',
  'decided_by',
  'decided_at',
  'decision_reason',
] as const;

function toRelease(row: Record<string, unknown>): ReleaseRequest {
  const text = (v: unknown) => (v === null || v === undefined ? null : String(v));
  return {
    id: String(row.id),
    image_id: String(row.image_id),
    target: row.target as ReleaseRequest['target'],
    status: row.status as ReleaseStatus,
    requested_by: String(row.requested_by),
    requested_at: String(row.requested_at),
    reason: text(row.reason),
    decided_by: text(row.decided_by),
    decided_at: text(row.decided_at),
    decision_reason: text(row.decision_reason),
  };
}

export class SqlReleaseRepository implements ReleaseRepository {
  readonly #db: SqlDatabase;

  constructor(db: SqlDatabase) {
    this.#db = db;
  }

  async createRelease(request: ReleaseRequest): Promise<void> {
    await this.#db
      .run(
        `INSERT INTO release_requests (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map(() => '?').join(', ')})`,
        COLUMNS.map((c) => request[c]),
      )
      .catch((error) => {
        throw wrapSqlError(error);
      });
  }

  async findRelease(id: string): Promise<ReleaseRequest | null> {
    const rows = await this.#db.query(`SELECT ${COLUMNS.join(', ')} FROM release_requests WHERE id = ?`, [
      id,
    ]);
    return rows.length ? toRelease(rows[0]) : null;
  }

  async listReleases(filter: { imageId?: string; status?: ReleaseStatus }): Promise<ReleaseRequest[]> {
    const where: string[] = [];
    const params: SqlValue[] = [];
    if (filter.imageId) {
      where.push('image_id = ?');
      params.push(filter.imageId);
    }
    if (filter.status) {
      where.push('status = ?');
      params.push(filter.status);
    }
    const rows = await this.#db.query(
      `SELECT ${COLUMNS.join(', ')} FROM release_requests ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY requested_at, id`,
      params,
    );
    return rows.map(toRelease);
  }

  async decideRelease(
    id: string,
    decision: Pick<ReleaseRequest, 'status' | 'decided_by' | 'decided_at' | 'decision_reason'>,
  ): Promise<boolean> {
    const changed = await this.#db.run(
      "UPDATE release_requests SET status = ?, decided_by = ?, decided_at = ?, decision_reason = ? WHERE id = ? AND status = 'pending'",
      [decision.status, decision.decided_by, decision.decided_at, decision.decision_reason, id],
    );
    return changed > 0;
  }

  async approveAndPublish(
    id: string,
    decision: Pick<ReleaseRequest, 'decided_by' | 'decided_at' | 'decision_reason'>,
    publish: { imageId: string; expectedLifecycle: LifecycleState; imageClass: ReleaseRequest['target'] },
  ): Promise<'approved' | 'already-decided' | 'image-changed'> {
    const imageChanged = new Error('image changed');
    try {
      return await this.#db.transaction(async (tx) => {
        const decided = await tx.run(
          "UPDATE release_requests SET status = 'approved', decided_by = ?, decided_at = ?, decision_reason = ? WHERE id = ? AND status = 'pending'",
          [decision.decided_by, decision.decided_at, decision.decision_reason, id],
        );
        if (decided === 0) return 'already-decided' as const;
        const published = await tx.run(
          "UPDATE images SET visibility = 'public', image_class = ?, updated_at = ? WHERE id = ? AND status = 'active' AND lifecycle_state = ?",
          [publish.imageClass, decision.decided_at, publish.imageId, publish.expectedLifecycle],
        );
        // Throwing rolls the decision back with the transaction.
        if (published === 0) throw imageChanged;
        return 'approved' as const;
      });
    } catch (error) {
      if (error === imageChanged) return 'image-changed';
      throw wrapSqlError(error);
    }
  }

  async saveReport(report: ImageReport): Promise<void> {
    await this.#db.transaction(async (tx) => {
      await tx.run('DELETE FROM image_reports WHERE image_id = ? AND kind = ?', [
        report.image_id,
        report.kind,
      ]);
      await tx.run(
        'INSERT INTO image_reports (image_id, kind, document, digest, passed, attached_by, attached_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
        [
          report.image_id,
          report.kind,
          report.document,
          report.digest,
          report.passed ? 1 : 0,
          report.attached_by,
          report.attached_at,
        ],
      );
    });
  }

  async findReport(imageId: string, kind: ReportKind): Promise<ImageReport | null> {
    const rows = await this.#db.query(
      'SELECT image_id, kind, document, digest, passed, attached_by, attached_at FROM image_reports WHERE image_id = ? AND kind = ?',
      [imageId, kind],
    );
    if (!rows.length) return null;
    const row = rows[0];
    return {
      image_id: String(row.image_id),
      kind: String(row.kind) as ReportKind,
      document: String(row.document),
      digest: String(row.digest),
      passed: Number(row.passed) === 1,
      attached_by: String(row.attached_by),
      attached_at: String(row.attached_at),
    };
  }
}
