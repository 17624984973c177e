import { DriverException, UniqueConstraintViolationException } from '@mikro-orm/core';
import { describe, expect, it } from 'vitest';
import { isDatabaseUnavailable } from '../../../src/adapters/mikro-orm/orm.js';

const withCode = (message: string, code: string) => Object.assign(new Error(message), { code });
const SQL = 'select "l0".* from "lesson" as "l0" where "l0"."id" = $1 limit $2';

describe('isDatabaseUnavailable', () => {
  it.each([
    ['a refused connection', withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED')],
    ['a reset connection', withCode('read ECONNRESET', 'ECONNRESET')],
    ['an unknown host', withCode('getaddrinfo ENOTFOUND db', 'ENOTFOUND')],
    ['a server shutting down (57P01)', withCode('terminating connection', '57P01')],
    ['a server starting up (57P03)', withCode('the database system is starting up', '57P03')],
    ['a connection failure (08006)', withCode('connection failure', '08006')],
    ['too many connections (53300)', withCode('sorry, too many clients already', '53300')],
    ['a statement timeout (57014)', withCode('canceling statement due to timeout', '57014')],
    ['a refused login (28P01)', withCode('password authentication failed', '28P01')],
    ['a missing database (3D000)', withCode('database "x" does not exist', '3D000')],
    ['a dropped session', new Error('Connection terminated unexpectedly')],
    ['a connect timeout', new Error('timeout expired')],
    ['a query timeout, after the SQL knex puts first', new Error(`${SQL} - Query read timeout`)],
    [
      'a full pool',
      new Error('Knex: Timeout acquiring a connection. The pool is probably full. Are you…'),
    ],
    [
      'every address refusing',
      new AggregateError([withCode('connect ECONNREFUSED ::1:5432', 'ECONNREFUSED')], 'failed'),
    ],
    [
      'an unreachable cause under a wrapper',
      new Error('wrapped', { cause: withCode('connect ECONNREFUSED', 'ECONNREFUSED') }),
    ],
    ['MikroORM wrapping a driver error', new DriverException(withCode('shutdown', '57P01'))],
  ])('is true for %s', (_case, error) => {
    expect(isDatabaseUnavailable(error)).toBe(true);
  });

  it.each([
    ['a unique violation', new UniqueConstraintViolationException(withCode('duplicate', '23505'))],
    ['a foreign key violation', withCode('violates foreign key constraint', '23503')],
    ['a missing table', withCode('relation "lesson" does not exist', '42P01')],
    ['a syntax error', withCode('syntax error at or near "selec"', '42601')],
    ['an error raised by a trigger', withCode('quiz updates are refused', 'P0001')],
    ['a bug', new TypeError("Cannot read properties of undefined (reading 'id')")],
    ['a message that only mentions a timeout', new Error('the lesson timeout expired')],
    ['something that is not an error', 'ECONNREFUSED'],
    ['nothing', undefined],
  ])('is false for %s', (_case, error) => {
    expect(isDatabaseUnavailable(error)).toBe(false);
  });

  it('stops on a cause chain that loops', () => {
    const first = new Error('first');
    const second = new Error('second', { cause: first });
    Object.assign(first, { cause: second });
    expect(isDatabaseUnavailable(first)).toBe(false);
  });
});
