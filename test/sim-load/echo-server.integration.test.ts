import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EchoAnswer } from '../../sim/load/bench-protocol.js';
import { startScript, stopChild } from '../../sim/load/child-processes.js';

const SEAT_COUNT = 30;

describe("the bench's echo server", () => {
  let server: ChildProcess;
  let url: string;
  const sockets: Socket[] = [];

  const connect = async () => {
    const socket = io(`${url}/classroom`, {
      path: '/sockets',
      transports: ['websocket'],
      forceNew: true,
      reconnection: false,
    });
    sockets.push(socket);
    await new Promise((resolve) => socket.once('connect', () => resolve(undefined)));
    return socket;
  };
  const ask = async (command: { type: 'sockets' }) => {
    const answered = once(server, 'message') as Promise<[EchoAnswer]>;
    server.send(command);
    return (await answered)[0];
  };

  beforeAll(async () => {
    server = startScript('sim/load/echo-server.ts', {
      cpu: undefined,
      openFiles: 1_024,
      args: [String(SEAT_COUNT)],
    });
    const [listening] = (await once(server, 'message')) as [EchoAnswer];
    if (listening.type !== 'listening') throw new Error(`the echo server said ${listening.type}`);
    url = `http://127.0.0.1:${listening.port}`;
  });

  afterAll(async () => {
    for (const socket of sockets) socket.disconnect();
    await stopChild(server);
  });

  it("answers join_lesson with the lesson's whole seat map, as the service does", async () => {
    const student = await connect();
    const ack = await student.emitWithAck('join_lesson', {
      user_id: 's-1',
      lesson_id: 'l-join',
      role: 'student',
    });
    expect(ack.ok).toBe(true);
    expect(ack.data.lesson_id).toBe('l-join');
    expect(Object.keys(ack.data.seats)).toHaveLength(SEAT_COUNT);
    expect(ack.data.seats['1']).toBe('');
  });

  it("pushes a seat claim to the lesson's teacher alone, and keeps the seat in the map", async () => {
    const [teacher, student, otherTeacher] = [await connect(), await connect(), await connect()];
    await teacher.emitWithAck('join_lesson', { user_id: 't-1', lesson_id: 'l-1', role: 'teacher' });
    await student.emitWithAck('join_lesson', { user_id: 's-1', lesson_id: 'l-1', role: 'student' });
    await otherTeacher.emitWithAck('join_lesson', {
      user_id: 't-2',
      lesson_id: 'l-2',
      role: 'teacher',
    });
    const heard: unknown[] = [];
    otherTeacher.on('set_student_name', (payload) => heard.push(payload));
    student.on('set_student_name', (payload) => heard.push(payload));
    const told = new Promise((resolve) => teacher.once('set_student_name', resolve));

    const claim = { lesson_id: 'l-1', display_name: 'Ada', seat_id: '3', student_id: 's-1' };
    const ack = await student.emitWithAck('set_student_name', claim);

    expect(ack).toEqual({ ok: true, data: { seat_id: '3', display_name: 'Ada' } });
    expect(await told).toEqual({ display_name: 'Ada', seat_id: '3', student_id: 's-1' });
    const rejoined = await student.emitWithAck('join_lesson', {
      user_id: 's-1',
      lesson_id: 'l-1',
      role: 'student',
    });
    expect(rejoined.data.seats['3']).toBe('s-1');
    expect(heard).toEqual([]);
  });

  it('tells its parent how many sockets it holds', async () => {
    expect(await ask({ type: 'sockets' })).toEqual({ type: 'sockets', sockets: sockets.length });
  });
});
