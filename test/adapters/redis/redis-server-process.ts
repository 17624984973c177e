import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect, createServer } from 'node:net';

/** A port nobody listens on right now, picked by the kernel. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  await once(server, 'close');
  if (address === null || typeof address === 'string') throw new Error('No TCP port was given');
  return address.port;
}

/**
 * A redis-server of the test's own on a spare port, without persistence, so that a test may
 * change its configuration, stop it and start it again empty without touching the shared Redis.
 * Suites that use it ask `canStartOwnRedis()` first.
 */
export class RedisServerProcess {
  private child: ChildProcess | null = null;

  private constructor(
    readonly port: number,
    private readonly extraArgs: readonly string[],
  ) {}

  static async start(extraArgs: readonly string[] = []): Promise<RedisServerProcess> {
    const server = new RedisServerProcess(await freePort(), extraArgs);
    await server.restart();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts the server (empty) and resolves once it accepts connections. */
  async restart(): Promise<void> {
    if (this.child !== null) throw new Error('This redis-server is already running');
    const child = spawn(
      'redis-server',
      ['--port', String(this.port), '--save', '', '--appendonly', 'no', ...this.extraArgs],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child = child;
    let output = '';
    await new Promise<void>((resolve, reject) => {
      child.stdout?.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('Ready to accept connections')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`redis-server exited (${code}): ${output}`)));
      // A program that cannot be started (ENOENT) never exits: without this the start would hang.
      child.once('error', reject);
    });
  }

  /** Freezes the server (SIGSTOP): connections stay open but nothing is answered. */
  freeze(): void {
    this.child?.kill('SIGSTOP');
  }

  thaw(): void {
    this.child?.kill('SIGCONT');
  }

  /**
   * `SHUTDOWN NOSAVE`, as an operator restarting Redis or a failover to an empty replica does:
   * the server closes its connections and exits, keeping nothing. Resolves once it is gone.
   */
  async shutdownNoSave(): Promise<void> {
    const child = this.child;
    if (child === null) return;
    this.child = null;
    const exited = once(child, 'exit');
    // An inline command on a connection of its own: the server exits without answering it.
    const link = connect(this.port, '127.0.0.1', () => link.write('SHUTDOWN NOSAVE\r\n'));
    link.on('error', () => link.destroy());
    await exited;
    link.destroy();
  }

  /** Kills the server at once, as a crash would, and resolves once it is gone. */
  async stop(): Promise<void> {
    const child = this.child;
    if (child === null) return;
    this.child = null;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  }
}
