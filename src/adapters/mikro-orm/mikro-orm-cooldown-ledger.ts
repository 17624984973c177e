import type { MikroORM } from '@mikro-orm/postgresql';
import type { CooldownLedger } from '../../application/ports/cooldown-ledger.js';
import type { TeacherRef } from '../../domain/clients.js';
import type { Id } from '../../domain/ids.js';
import { runSql } from './sql.js';
import { WriteFence } from './write-fence.js';

/**
 * A later force logout of the same teacher replaces the cooldown, as the Redis key's SET does.
 * Fenced like every write here (see `WriteFence`): also the row found on conflict, after its lock.
 */
const RECORD = `
  insert into "teacher_cooldown" ("org_id", "user_id", "until", "by")
  select ?, ?, ?, ? where "classroom_fence"(?)
  on conflict ("org_id", "user_id") do update set
    "until" = excluded."until",
    "by" = excluded."by"
  where "classroom_fence"(?)`;

const CANCEL = `
  delete from "teacher_cooldown"
  where "org_id" = ? and "user_id" = ? and "until" = ? and "classroom_fence"(?)`;

const RUNNING_UNTIL = `
  select (extract(epoch from "until") * 1000)::float8 as "untilMs"
  from "teacher_cooldown" where "org_id" = ? and "user_id" = ? and "until" > ?`;

const ACTIVE = `
  select "org_id", "user_id", (extract(epoch from "until") * 1000)::float8 as "untilMs"
  from "teacher_cooldown" where "until" > ?`;

/**
 * Force-logout cooldowns in PostgreSQL (`teacher_cooldown`), one statement per call. An
 * unreachable or slow database becomes `DependencyUnavailableError`, and a write that throws it
 * never applies later: `record` and `cancel` are fenced (see `WriteFence`).
 */
export class MikroOrmCooldownLedger implements CooldownLedger {
  /** `fence` may be shared with the service's other writers to the same database. */
  constructor(
    private readonly orm: MikroORM,
    private readonly fence = new WriteFence(orm),
  ) {}

  async record(input: { teacher: TeacherRef; untilMs: number; by: Id }): Promise<void> {
    const { teacher, untilMs, by } = input;
    const deadline = await this.fence.deadline();
    await runSql(this.orm, RECORD, [
      teacher.orgId,
      teacher.userId,
      new Date(untilMs),
      by,
      deadline,
      deadline,
    ]);
  }

  async cancel(input: { teacher: TeacherRef; untilMs: number }): Promise<void> {
    const { teacher, untilMs } = input;
    await runSql(this.orm, CANCEL, [
      teacher.orgId,
      teacher.userId,
      new Date(untilMs),
      await this.fence.deadline(),
    ]);
  }

  async runningUntil(teacher: TeacherRef, nowMs: number): Promise<number | null> {
    const { rows } = await runSql<{ untilMs: number }>(this.orm, RUNNING_UNTIL, [
      teacher.orgId,
      teacher.userId,
      new Date(nowMs),
    ]);
    return rows[0]?.untilMs ?? null;
  }

  async active(nowMs: number): Promise<Array<{ teacher: TeacherRef; untilMs: number }>> {
    const { rows } = await runSql<{ org_id: Id; user_id: Id; untilMs: number }>(this.orm, ACTIVE, [
      new Date(nowMs),
    ]);
    return rows.map((row) => ({
      teacher: { orgId: row.org_id, userId: row.user_id },
      untilMs: row.untilMs,
    }));
  }
}
