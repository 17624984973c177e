import type { Knex, MikroORM } from '@mikro-orm/postgresql';
import { DependencyUnavailableError } from '../../application/errors.js';
import { isDatabaseUnavailable } from './orm.js';

export interface SqlResult<Row> {
  readonly rows: Row[];
  /** Rows the statement inserted, updated or deleted (or returned, for a select). */
  readonly rowCount: number;
}

/**
 * Plain parameterised SQL on the ORM's pool: no entity mapping, and the values travel as bind
 * parameters (an array is one parameter), so the statement text is the same for every call. An
 * unreachable or slow database, or a write past its fence, becomes `DependencyUnavailableError`;
 * any other error (a broken constraint, a bug) propagates as it is.
 */
export async function runSql<Row>(
  orm: MikroORM,
  sql: string,
  bindings: readonly Knex.Value[],
): Promise<SqlResult<Row>> {
  try {
    const result = await orm.em.getConnection().getKnex().raw(sql, bindings);
    return { rows: result.rows as Row[], rowCount: result.rowCount as number };
  } catch (error) {
    if (isDatabaseUnavailable(error)) {
      throw new DependencyUnavailableError('database', { cause: error });
    }
    throw error;
  }
}
