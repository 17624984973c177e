import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { postgresBinDir } from '../../support/services.js';

const run = promisify(execFile);

/** A loopback port nobody listens on: taken from the kernel, then released. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  return address.port;
}

const BIN_DIR = postgresBinDir();

/**
 * A throw-away PostgreSQL cluster in a temp dir on a spare loopback port, for tests that stop,
 * freeze or restart the server; the machine's shared server is never touched. initdb refuses to
 * run as root, so the cluster belongs to the `postgres` user. Suites that use it ask
 * `canStartOwnPostgres()` first.
 */
export class OwnPostgres {
  private constructor(
    private readonly dir: string,
    readonly port: number,
  ) {}

  static async create(): Promise<OwnPostgres> {
    const dir = mkdtempSync(join(tmpdir(), 'classroom-pg-'));
    const { uid, gid } = await postgresUser();
    chownSync(dir, uid, gid);
    const server = new OwnPostgres(dir, await closedPort());
    await server.asPostgres('initdb', [
      '--pgdata',
      server.dataDir,
      '--auth',
      'trust',
      '--username',
      'postgres',
      '--no-sync',
    ]);
    await server.start();
    return server;
  }

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  private get dataDir(): string {
    return join(this.dir, 'data');
  }

  async start(): Promise<void> {
    const options = `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off`;
    // The server's output goes to a log file: left on our pipe, it would keep execFile waiting.
    await this.asPostgres('pg_ctl', [
      'start',
      '--wait',
      '--pgdata',
      this.dataDir,
      '--log',
      join(this.dir, 'server.log'),
      '-o',
      options,
    ]);
  }

  /** Fast shutdown: open sessions are terminated, as when a server is stopped for maintenance. */
  async stop(): Promise<void> {
    await this.asPostgres('pg_ctl', ['stop', '--wait', '--mode', 'fast', '--pgdata', this.dataDir]);
  }

  /**
   * SIGSTOP or SIGCONT to the postmaster and, unless told otherwise, every backend: a frozen
   * server still accepts TCP connections (the kernel does) but never answers, which is what a
   * hung host looks like. Thawing only the postmaster lets new sessions start while the old ones
   * stay frozen.
   */
  async signal(signal: 'SIGSTOP' | 'SIGCONT', scope: 'all' | 'postmaster' = 'all'): Promise<void> {
    const postmaster = readFileSync(join(this.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0];
    const pids = [String(postmaster)];
    if (scope === 'all') {
      const { stdout } = await run('pgrep', ['-P', String(postmaster)]);
      pids.push(...stdout.split('\n').filter((pid) => pid !== ''));
    }
    for (const pid of pids) process.kill(Number(pid), signal);
  }

  /** Stops the server whatever state a test left it in (stopped, frozen) and deletes it. */
  async destroy(): Promise<void> {
    if (existsSync(join(this.dataDir, 'postmaster.pid'))) {
      await this.signal('SIGCONT');
      await this.asPostgres('pg_ctl', ['stop', '--wait', '-m', 'immediate', '-D', this.dataDir]);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async asPostgres(binary: string, args: string[]): Promise<void> {
    await run('runuser', ['-u', 'postgres', '--', join(BIN_DIR ?? '', binary), ...args], {
      cwd: this.dir,
    });
  }
}

async function postgresUser(): Promise<{ uid: number; gid: number }> {
  const id = async (flag: string) => Number((await run('id', [flag, 'postgres'])).stdout.trim());
  return { uid: await id('-u'), gid: await id('-g') };
}
