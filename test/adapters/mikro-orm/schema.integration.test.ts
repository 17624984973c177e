import type { MikroORM } from '@mikro-orm/postgresql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CommandOutput, runDbMigrate } from '../../../cli/commands/db.js';
import { migrateDatabase } from '../../../src/adapters/mikro-orm/migrations.js';
import { openOrm } from '../../../src/adapters/mikro-orm/orm.js';
import { hasPostgres } from '../../support/services.js';
import { createFreshDatabase, type FreshDatabase } from './fresh-database.js';
import { closedPort } from './own-postgres.js';

/** PROTOCOL §8, written out independently of the migration that should produce it. */
const TIMESTAMPTZ = 'timestamp with time zone';
const EXPECTED_COLUMNS = [
  ['lesson', 'id', 'text', null, 'NO'],
  ['lesson', 'org_id', 'text', null, 'NO'],
  ['lesson', 'teacher_id', 'text', null, 'NO'],
  ['lesson', 'title', 'text', null, 'YES'],
  ['lesson', 'seat_count', 'integer', '30', 'NO'],
  ['lesson', 'status', 'text', "'active'::text", 'NO'],
  ['lesson', 'started_at', TIMESTAMPTZ, null, 'YES'],
  ['lesson', 'ended_at', TIMESTAMPTZ, null, 'YES'],
  ['presence_event', 'id', 'bigint', "nextval('presence_event_id_seq'::regclass)", 'NO'],
  ['presence_event', 'org_id', 'text', null, 'NO'],
  ['presence_event', 'user_id', 'text', null, 'NO'],
  ['presence_event', 'at', TIMESTAMPTZ, null, 'NO'],
  ['presence_event', 'kind', 'text', null, 'NO'],
  ['presence_event', 'reason', 'text', null, 'NO'],
  ['presence_event', 'by', 'text', null, 'YES'],
  ['presence_event', 'lesson_ids', 'ARRAY', null, 'YES'],
  ['presence_event', 'node', 'text', null, 'NO'],
  ['quiz', 'id', 'text', null, 'NO'],
  ['quiz', 'lesson_id', 'text', null, 'NO'],
  ['quiz', 'status', 'text', null, 'NO'],
  ['quiz', 'closed_at', TIMESTAMPTZ, null, 'YES'],
  ['student_attend', 'id', 'bigint', "nextval('student_attend_id_seq'::regclass)", 'NO'],
  ['student_attend', 'lesson_id', 'text', null, 'NO'],
  ['student_attend', 'student_id', 'text', null, 'NO'],
  ['student_attend', 'display_name', 'text', null, 'YES'],
  ['student_attend', 'seat_id', 'text', null, 'YES'],
  ['student_attend', 'created_at', TIMESTAMPTZ, 'now()', 'NO'],
  ['student_attend', 'updated_at', TIMESTAMPTZ, 'now()', 'NO'],
  ['task', 'id', 'text', null, 'NO'],
  ['task', 'lesson_id', 'text', null, 'NO'],
  ['task', 'status', 'text', null, 'NO'],
  ['task', 'closed_at', TIMESTAMPTZ, null, 'YES'],
  ['teacher_cooldown', 'org_id', 'text', null, 'NO'],
  ['teacher_cooldown', 'user_id', 'text', null, 'NO'],
  ['teacher_cooldown', 'until', TIMESTAMPTZ, null, 'NO'],
  ['teacher_cooldown', 'by', 'text', null, 'NO'],
];

const EXPECTED_CONSTRAINTS = [
  ['lesson', 'PRIMARY KEY (id)'],
  ['presence_event', 'PRIMARY KEY (id)'],
  ['quiz', 'FOREIGN KEY (lesson_id) REFERENCES lesson(id) ON UPDATE CASCADE'],
  ['quiz', 'PRIMARY KEY (id)'],
  ['student_attend', 'FOREIGN KEY (lesson_id) REFERENCES lesson(id) ON UPDATE CASCADE'],
  ['student_attend', 'PRIMARY KEY (id)'],
  ['student_attend', 'UNIQUE (lesson_id, student_id)'],
  ['task', 'FOREIGN KEY (lesson_id) REFERENCES lesson(id) ON UPDATE CASCADE'],
  ['task', 'PRIMARY KEY (id)'],
  ['teacher_cooldown', 'PRIMARY KEY (org_id, user_id)'],
];

/** The secondary indexes, each for the query that needs it. */
const EXPECTED_INDEXES = [
  'CREATE INDEX lesson_teacher_status_idx ON public.lesson USING btree (org_id, teacher_id, status)',
  'CREATE INDEX presence_event_org_user_at_idx ON public.presence_event USING btree (org_id, user_id, at DESC)',
  'CREATE INDEX quiz_lesson_idx ON public.quiz USING btree (lesson_id)',
  'CREATE INDEX task_lesson_idx ON public.task USING btree (lesson_id)',
];

const SHIPPED = [
  'Migration20261126000000_create_classroom_tables',
  'Migration20261206000000_create_write_fence',
  'Migration20261206000001_create_presence_history_and_cooldowns',
];

describe.runIf(hasPostgres)('the shipped migrations', () => {
  let database: FreshDatabase;
  let orm: MikroORM;
  let firstRun: string[];

  const rows = (sql: string) => orm.em.getConnection().execute<Record<string, unknown>[]>(sql);

  beforeAll(async () => {
    database = await createFreshDatabase();
    orm = await openOrm({ databaseUrl: database.url });
    firstRun = await migrateDatabase(orm);
  });

  afterAll(async () => {
    await orm?.close();
    await database?.drop();
  });

  it('apply every migration to an empty database, in order', () => {
    expect(firstRun).toEqual(SHIPPED);
  });

  it('create the six tables of §8 and nothing else but the record of applied migrations', async () => {
    const tables = await rows(
      `select table_name from information_schema.tables
       where table_schema = 'public' order by table_name`,
    );
    expect(tables.map((row) => row.table_name)).toEqual([
      'lesson',
      'mikro_orm_migrations',
      'presence_event',
      'quiz',
      'student_attend',
      'task',
      'teacher_cooldown',
    ]);
  });

  it('give every column the type, default and nullability of §8', async () => {
    const columns = await rows(
      `select table_name, column_name, data_type, column_default, is_nullable
       from information_schema.columns
       where table_schema = 'public' and table_name <> 'mikro_orm_migrations'
       order by table_name, ordinal_position`,
    );
    expect(columns.map((column) => Object.values(column))).toEqual(EXPECTED_COLUMNS);
  });

  it('key the tables as §8 says: primary keys, foreign keys to lesson, one attendance per student', async () => {
    const constraints = await rows(
      `select conrelid::regclass::text as table_name, pg_get_constraintdef(oid) as definition
       from pg_constraint
       where connamespace = 'public'::regnamespace and contype in ('p', 'f', 'u')
         and conrelid::regclass::text <> 'mikro_orm_migrations'
       order by 1, 2`,
    );
    expect(constraints.map((row) => [row.table_name, row.definition])).toEqual(
      EXPECTED_CONSTRAINTS,
    );
  });

  it('index the tables for the queries the service makes', async () => {
    const indexes = await rows(
      `select indexdef from pg_indexes
       where schemaname = 'public' and indexname not like '%_pkey' and indexname not like '%_unique'
       order by indexname`,
    );
    expect(indexes.map((row) => row.indexdef)).toEqual(EXPECTED_INDEXES);
  });

  it('create a write fence that passes before its deadline and cancels the statement after', async () => {
    expect(
      await rows(`select classroom_fence(clock_timestamp() + interval '1 minute') as open`),
    ).toEqual([{ open: true }]);
    await expect(rows(`select classroom_fence(clock_timestamp()) as open`)).rejects.toMatchObject({
      code: '57014',
    });
  });

  it('apply nothing the second time', async () => {
    expect(await migrateDatabase(orm)).toEqual([]);
  });

  it('create exactly the schema the entities describe', async () => {
    expect(await orm.schema.getUpdateSchemaSQL({ wrap: false })).toBe('');
  });
});

/** Runs the command's action and keeps what it printed. */
async function dbMigrate(env: NodeJS.ProcessEnv) {
  const out: string[] = [];
  const err: string[] = [];
  const output: CommandOutput = {
    writeOut: (text) => out.push(text),
    writeErr: (text) => err.push(text),
  };
  const code = await runDbMigrate(env, output);
  return { code, out: out.join(''), err: err.join('') };
}

describe('classroom db migrate', () => {
  it.each([
    ['unset', {}],
    ['empty', { DATABASE_URL: '' }],
  ])('exits 2 naming DATABASE_URL when it is %s', async (_case, env) => {
    const result = await dbMigrate(env);
    expect(result).toMatchObject({ code: 2, out: '' });
    expect(result.err).toMatch(/^DATABASE_URL is not set;[^\n]*\n$/);
  });

  it.each([
    'not a url',
    'mysql://root:s3cret@127.0.0.1/classroom',
    'postgres://postgres:s3cret@127.0.0.1:5432',
    'postgres:///classroom',
  ])('exits 2 on %s, naming the variable without repeating it', async (url) => {
    const result = await dbMigrate({ DATABASE_URL: url });
    expect(result).toMatchObject({ code: 2, out: '' });
    expect(result.err).toMatch(/^DATABASE_URL is not a PostgreSQL URL[^\n]*\n$/);
    expect(result.err).not.toContain('s3cret');
  });

  it('exits 1 with one line when nothing answers at the address', async () => {
    const port = await closedPort();
    const result = await dbMigrate({ DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/x` });
    expect(result).toMatchObject({ code: 1, out: '' });
    expect(result.err).toMatch(/^Cannot reach the database named by DATABASE_URL: [^\n]+\n$/);
  });

  describe.runIf(hasPostgres)('on a reachable server', () => {
    let database: FreshDatabase;

    beforeAll(async () => {
      database = await createFreshDatabase();
      // The command creates a missing database itself, so start from none.
      await database.drop();
    });

    afterAll(async () => {
      await database?.drop();
    });

    it('creates the database, applies the migrations, says which, and exits 0', async () => {
      expect(await dbMigrate({ DATABASE_URL: database.url })).toEqual({
        code: 0,
        out: SHIPPED.map((name) => `Applied ${name}\n`).join(''),
        err: '',
      });
    });

    it('then says the schema is up to date and exits 0', async () => {
      expect(await dbMigrate({ DATABASE_URL: database.url })).toEqual({
        code: 0,
        out: 'The schema is up to date; no migration to apply.\n',
        err: '',
      });
    });

    it('exits 1 when a migration fails, leaving nothing of it behind', async () => {
      const orm = await openOrm({ databaseUrl: database.url });
      const connection = orm.em.getConnection();
      const tableExists = async (table: string) => {
        const [row] = await connection.execute(
          `select to_regclass('public.${table}') is not null as present`,
        );
        return row?.present;
      };
      try {
        // Forget the migration but keep the last table it creates: it gets as far as creating
        // lesson, student_attend and quiz again, then fails on task and must roll back whole.
        await connection.execute('drop table lesson, student_attend, quiz cascade');
        await connection.execute('truncate mikro_orm_migrations');
        const result = await dbMigrate({ DATABASE_URL: database.url });
        expect(result).toMatchObject({ code: 1, out: '' });
        expect(result.err).toMatch(/^Migration failed, nothing was applied: [^\n]+\n$/);
        expect(await tableExists('lesson')).toBe(false);
        expect(await tableExists('task')).toBe(true);
      } finally {
        await orm.close();
      }
    });
  });
});
