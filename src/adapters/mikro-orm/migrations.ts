import type { MigrationObject } from '@mikro-orm/core';
import { Migration } from '@mikro-orm/migrations';
import type { MikroORM } from '@mikro-orm/postgresql';

/**
 * The shipped migrations, in code so the service never reads a migrations folder at run time.
 * Each one is written out in SQL so the schema of PROTOCOL §8 is visible here as it will exist;
 * `entities.ts` describes the same tables and a test checks they agree. Never edit an applied
 * migration: add the next one to the list.
 */
class CreateClassroomTables extends Migration {
  override up(): void {
    this.addSql(`create table "lesson" (
      "id" text not null,
      "org_id" text not null,
      "teacher_id" text not null,
      "title" text null,
      "seat_count" int not null default 30,
      "status" text not null default 'active',
      "started_at" timestamptz null,
      "ended_at" timestamptz null,
      constraint "lesson_pkey" primary key ("id")
    );`);
    // Session end looks lessons up by teacher and status.
    this.addSql(
      `create index "lesson_teacher_status_idx" on "lesson" ("org_id", "teacher_id", "status");`,
    );

    this.addSql(`create table "student_attend" (
      "id" bigserial primary key,
      "lesson_id" text not null,
      "student_id" text not null,
      "display_name" text null,
      "seat_id" text null,
      "created_at" timestamptz not null default now(),
      "updated_at" timestamptz not null default now(),
      constraint "student_attend_lesson_student_unique" unique ("lesson_id", "student_id")
    );`);

    for (const table of ['quiz', 'task']) {
      this.addSql(`create table "${table}" (
        "id" text not null,
        "lesson_id" text not null,
        "status" text not null,
        "closed_at" timestamptz null,
        constraint "${table}_pkey" primary key ("id")
      );`);
      // Closing a lesson's open work finds it by lesson.
      this.addSql(`create index "${table}_lesson_idx" on "${table}" ("lesson_id");`);
    }

    for (const table of ['student_attend', 'quiz', 'task']) {
      this.addSql(
        `alter table "${table}" add constraint "${table}_lesson_id_foreign" foreign key ("lesson_id") references "lesson" ("id") on update cascade;`,
      );
    }
  }
}

/**
 * `classroom_fence(deadline)` is true until the server's clock reaches `deadline`, then raises
 * `query_canceled`, which rolls the whole statement back (PROTOCOL §6a.1). Writes call it on every
 * row they write, so a statement that a stalled server runs after the client gave up on it applies
 * nothing; the deadline is on the server's clock, see `WriteFence`. Volatile, so that it is
 * evaluated for each row rather than once when the statement is planned.
 */
class CreateWriteFence extends Migration {
  override up(): void {
    this.addSql(`create function "classroom_fence"("deadline" timestamptz) returns boolean
      language plpgsql volatile as $$
      begin
        if clock_timestamp() >= "deadline" then
          raise exception 'the client gave up on this write at %', "deadline"
            using errcode = 'query_canceled';
        end if;
        return true;
      end $$;`);
  }
}

/**
 * Contract v1.1 (PROTOCOL §5a, §6a.3, §8): the teachers' presence history, read newest first per
 * user of an org, and force-logout cooldowns that outlive a Redis that lost its data.
 */
class CreatePresenceHistoryAndCooldowns extends Migration {
  override up(): void {
    this.addSql(`create table "presence_event" (
      "id" bigserial primary key,
      "org_id" text not null,
      "user_id" text not null,
      "at" timestamptz not null,
      "kind" text not null,
      "reason" text not null,
      "by" text null,
      "lesson_ids" text[] null,
      "node" text not null
    );`);
    // A user's history, newest first, is one index range.
    this.addSql(
      `create index "presence_event_org_user_at_idx" on "presence_event" ("org_id", "user_id", "at" desc);`,
    );

    this.addSql(`create table "teacher_cooldown" (
      "org_id" text not null,
      "user_id" text not null,
      "until" timestamptz not null,
      "by" text not null,
      constraint "teacher_cooldown_pkey" primary key ("org_id", "user_id")
    );`);
  }
}

export const MIGRATIONS: MigrationObject[] = [
  { name: 'Migration20261126000000_create_classroom_tables', class: CreateClassroomTables },
  { name: 'Migration20261206000000_create_write_fence', class: CreateWriteFence },
  {
    name: 'Migration20261206000001_create_presence_history_and_cooldowns',
    class: CreatePresenceHistoryAndCooldowns,
  },
];

/**
 * Applies the shipped migrations that the database has not seen yet, all in one transaction, and
 * returns their names (none when the schema is up to date). Creates the database when it does not
 * exist. `orm` must come from `openOrm`, which registers the migrator and the list.
 */
export async function migrateDatabase(orm: MikroORM): Promise<string[]> {
  const applied = await orm.getMigrator().up();
  return applied.map((migration) => migration.name);
}
