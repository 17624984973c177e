import { ReplyError } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { isRedisUnavailable, presenceCall } from '../../../src/adapters/redis/redis-clients.js';
import { DependencyUnavailableError } from '../../../src/application/errors.js';

const reply = (message: string): Error => new ReplyError(message);
const named = (name: string, message: string): Error => Object.assign(new Error(message), { name });

describe('isRedisUnavailable', () => {
  it.each([
    [
      'a command refused while disconnected',
      new Error("Stream isn't writeable and enableOfflineQueue options is false"),
    ],
    ['a command timeout', new Error('Command timed out')],
    ['a closed client', new Error('Connection is closed.')],
    [
      'the retries limit',
      named('MaxRetriesPerRequestError', 'Reached the max retries per request limit'),
    ],
    [
      'a command cut off by a closed connection',
      named('AbortError', 'Command aborted due to connection close'),
    ],
    ['a server still loading its data', reply('LOADING Redis is loading the dataset in memory')],
    ['a server busy with a long script', reply('BUSY Redis is busy running a script.')],
    [
      'a script refused past its deadline',
      reply('FENCED the call reached Redis after its deadline'),
    ],
  ])('counts %s as unavailable', (_what, error) => {
    expect(isRedisUnavailable(error)).toBe(true);
  });

  it.each([
    ['a failing Lua script', reply('ERR user_script:3: attempt to index a nil value script: 1a2b')],
    [
      'a key of the wrong type',
      reply('WRONGTYPE Operation against a key holding the wrong kind of value'),
    ],
    ['a programming error', new TypeError("Cannot read properties of undefined (reading 'sid')")],
    ['something that is not an Error', 'ECONNREFUSED'],
  ])('does not count %s as unavailable', (_what, error) => {
    expect(isRedisUnavailable(error)).toBe(false);
  });
});

describe('presenceCall', () => {
  it('turns an unreachable Redis into DependencyUnavailableError for presence', async () => {
    const failure = presenceCall(Promise.reject(new Error('Command timed out')));
    await expect(failure).rejects.toBeInstanceOf(DependencyUnavailableError);
    await expect(failure).rejects.toMatchObject({ dependency: 'presence' });
  });

  it('lets a script error through unchanged, to be answered internal', async () => {
    const error = reply('ERR user_script:1: boom');
    await expect(presenceCall(Promise.reject(error))).rejects.toBe(error);
  });

  it('passes a reply through', async () => {
    expect(await presenceCall(Promise.resolve('OK'))).toBe('OK');
  });
});
