import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasPythonSocketIo, PYTHON } from '../support/clients.js';
import { type DemoService, startDemoService } from '../support/demo-service.js';

const SCRIPT = join(import.meta.dirname, 'python_socketio_client.py');

interface Seen {
  readonly websocket: { transport: string; ack: unknown };
  readonly polling: { transport: string; ack: unknown };
  readonly teacher_connect: unknown[];
  readonly bad_token: Record<string, unknown>;
  readonly default_namespace: Record<string, unknown>;
}

const joined = {
  ok: true,
  data: { lesson_id: 'lesson-math', seats: expect.objectContaining({ '1': '', '30': '' }) },
};

describe.runIf(await hasPythonSocketIo())('python-socketio 5 (Debian python3-socketio)', () => {
  let demo: DemoService;
  let seen: Seen;

  beforeAll(async () => {
    demo = await startDemoService();
    const env = {
      PATH: process.env.PATH,
      CLASSROOM_URL: demo.service.url,
      TEACHER_TOKEN: await demo.token('t-ada', 'teacher'),
      MANAGER_TOKEN: await demo.token('m-linus', 'admin'),
    };
    const stdout = await new Promise<string>((done, failed) =>
      execFile(PYTHON, [SCRIPT], { env, timeout: 30_000 }, (error, out, err) =>
        error === null ? done(out) : failed(new Error(`${error.message}\n${err}`)),
      ),
    );
    seen = JSON.parse(stdout);
  });

  afterAll(async () => {
    await demo?.service.close();
  });

  it('joins a lesson as a teacher over WebSocket', () => {
    expect(seen.websocket).toEqual({ transport: 'websocket', ack: joined });
  });

  it('joins a lesson as a teacher over long-polling', () => {
    expect(seen.polling).toEqual({ transport: 'polling', ack: joined });
  });

  it('lets a manager hear teacher_connect each time', () => {
    expect(seen.teacher_connect).toEqual([{ user_id: 't-ada' }, { user_id: 't-ada' }]);
  });

  it('hands a bad token’s refusal to the connect_error handler with data.code', () => {
    expect(seen.bad_token).toEqual({
      '/classroom': {
        message: 'unauthorized',
        data: { code: 'unauthorized', message: expect.any(String) },
      },
    });
  });

  it('refuses the default namespace at once, naming /classroom', () => {
    expect(seen.default_namespace).toEqual({
      '/': {
        message: 'invalid_handshake',
        data: { code: 'invalid_handshake', message: expect.stringContaining('/classroom') },
      },
    });
  });
});
