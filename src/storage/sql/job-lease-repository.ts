// Leases on background jobs (lifecycle schedules, upload recovery), so that of several processes sharing
// one database one at a time runs each job. A lease is a row naming its holder until a time; the holder
// renews it on every run, and another process takes it once it lapses, or at once when the holder is
// known to be dead. Every step is one conditional statement, so two processes racing for a lease cannot
// both get it. Effects stay safe without the lease (each job's writes are conditional themselves): the
// lease is what keeps the work from being done, and logged, twice.
import { type SqlDatabase, wrapSqlError } from './database.ts';

export interface LeaseClaim {
  /** True when the caller holds the lease until `expiresAt`. */
  readonly held: boolean;
  /** Who holds it now (the caller when `held`). */
  readonly holder: string;
}

export class SqlJobLeases {
  readonly #db: SqlDatabase;

  constructor(db: SqlDatabase) {
    this.#db = db;
  }

  /**
   * Takes or renews the lease on `job` for `holder` until `now + ttlMs`. It is granted when nobody holds
   * it, when `holder` already does, when the holder's lease ran out before `now`, or when `isAlive` says
   * the holder is certainly gone.
   */
  async claim(
    job: string,
    holder: string,
    now: Date,
    ttlMs: number,
    isAlive: (holder: string) => boolean = () => true,
  ): Promise<LeaseClaim> {
    const until = new Date(now.getTime() + ttlMs).toISOString();
    try {
      if (
        (await this.#db.run(
          'INSERT INTO job_leases (name, holder, expires_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING',
          [job, holder, until],
        )) === 1
      )
        return { held: true, holder };
      if (
        (await this.#db.run(
          'UPDATE job_leases SET holder = ?, expires_at = ? WHERE name = ? AND (holder = ? OR expires_at <= ?)',
          [holder, until, job, holder, now.toISOString()],
        )) === 1
      )
        return { held: true, holder };
      const rows = await this.#db.query<{ holder: string }>('SELECT holder FROM job_leases WHERE name = ?', [
        job,
      ]);
      const current = rows[0]?.holder;
      // Released between our two statements: try again from the start.
      if (current === undefined) return await this.claim(job, holder, now, ttlMs, isAlive);
      if (!isAlive(current)) {
        // Taken from that holder only: if a third process got there first, it keeps it.
        const taken = await this.#db.run(
          'UPDATE job_leases SET holder = ?, expires_at = ? WHERE name = ? AND holder = ?',
          [holder, until, job, current],
        );
        if (taken === 1) return { held: true, holder };
        return await this.claim(job, holder, now, ttlMs, () => true);
      }
      return { held: false, holder: current };
    } catch (error) {
      throw wrapSqlError(error);
    }
  }

  /** Gives the lease up (a process stopping), so another takes the job at its next run. */
  async release(job: string, holder: string): Promise<boolean> {
    try {
      return (
        (await this.#db.run('DELETE FROM job_leases WHERE name = ? AND holder = ?', [job, holder])) === 1
      );
    } catch (error) {
      throw wrapSqlError(error);
    }
  }

  /** Every lease, for operators and tests: who runs what until when. */
  async list(): Promise<{ job: string; holder: string; expiresAt: string }[]> {
    try {
      const rows = await this.#db.query<{ name: string; holder: string; expires_at: string }>(
        'SELECT name, holder, expires_at FROM job_leases ORDER BY name',
      );
      return rows.map((row) => ({ job: row.name, holder: row.holder, expiresAt: String(row.expires_at) }));
    } catch (error) {
      throw wrapSqlError(error);
    }
  }
}
