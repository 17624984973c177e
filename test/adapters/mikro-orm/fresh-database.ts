import { randomBytes } from 'node:crypto';
import type { MikroORM } from '@mikro-orm/postgresql';
import { migrateDatabase } from '../../../src/adapters/mikro-orm/migrations.js';
import { openOrm } from '../../../src/adapters/mikro-orm/orm.js';
import { POSTGRES_URL } from '../../support/services.js';

export interface FreshDatabase {
  readonly url: string;
  /** Drops the database, closing whatever connections are still open to it. */
  drop(): Promise<void>;
}

/**
 * A database of its own on the shared server, named at random so files and runs never meet.
 * It is created empty; `migratedOrm` adds the schema.
 */
export async function createFreshDatabase(serverUrl = POSTGRES_URL): Promise<FreshDatabase> {
  const name = `classroom_test_${randomBytes(6).toString('hex')}`;
  await onServer(serverUrl, `create database "${name}"`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () => onServer(serverUrl, `drop database if exists "${name}" with (force)`),
  };
}

async function onServer(serverUrl: string, sql: string): Promise<void> {
  const orm = await openOrm({ databaseUrl: serverUrl, poolMax: 1 });
  try {
    await orm.em.getConnection().execute(sql);
  } finally {
    await orm.close();
  }
}

/** An ORM on `url` with the shipped migrations applied. */
export async function migratedOrm(url: string): Promise<MikroORM> {
  const orm = await openOrm({ databaseUrl: url });
  await migrateDatabase(orm);
  return orm;
}
