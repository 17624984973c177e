import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { requirement } from './requirements.js';

/**
 * The clients the interoperability suites drive, and whether this machine has them. Python is
 * Debian's own interpreter: the first `python3` on PATH may be another one, without Debian's
 * python3-socketio.
 */
export const PYTHON = '/usr/bin/python3';
export const CHROMIUM = '/usr/bin/chromium';

function pythonSocketIoMissing(): Promise<string | null> {
  return new Promise((resolve) =>
    execFile(PYTHON, ['-c', 'import socketio, websocket, requests'], (error) =>
      resolve(
        error === null
          ? null
          : `is missing (${PYTHON} cannot import socketio, websocket and requests: apt-get install python3-socketio python3-websocket python3-requests)`,
      ),
    ),
  );
}

function socketIoClientV2Missing(): string | null {
  try {
    createRequire(import.meta.url).resolve('socket.io-client-v2');
    return null;
  } catch {
    return 'is missing (npm ci installs the socket.io-client-v2 alias)';
  }
}

/** `describe.runIf` friendly: resolved once per file at collection time. */
export const hasPythonSocketIo = async () =>
  requirement('python-socketio', await pythonSocketIoMissing());
export const hasSocketIoClientV2 = () =>
  requirement('socket.io-client 2', socketIoClientV2Missing());
export const hasChromium = () =>
  requirement(
    'Chromium',
    existsSync(CHROMIUM) ? null : `is missing (no ${CHROMIUM}: apt-get install chromium)`,
  );
