/**
 * A PostgreSQL server of a test's own (initdb in a temp folder, pg_ctl on a
 * free port, its socket in that folder), so the test can crash and restart it
 * under load. The shared server at 127.0.0.1:5432 is never touched.
 *
 * PostgreSQL refuses to run as root: when this process is root (CI) the
 * binaries run as the `postgres` OS user through `runuser`, and the folder is
 * handed to that user.
 */
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from '../browser/support.ts';

const run = promisify(execFile);
const OS_USER = 'postgres';

export interface PrivatePostgres {
  port: number;
  /** A connection URL for `database` on this server (TCP, trust authentication). */
  url(database?: string): string;
  /** A fresh empty database; answers its URL. */
  createDatabase(name: string): Promise<string>;
  /** `immediate` kills every server process at once (a crash: recovery runs at the next start); `fast` is a clean shutdown. */
  stop(mode: 'immediate' | 'fast'): Promise<void>;
  /** Starts it again on the same port and data; waits until it accepts connections. */
  start(): Promise<void>;
  /** The server log so far (for a failing test's message). */
  log(): string;
  /** Stops it (immediate) and deletes its folder. */
  remove(): Promise<void>;
}

/** The newest PostgreSQL `bin` folder on this machine (Debian: /usr/lib/postgresql/N/bin), or undefined. */
function binDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  const versions = fs.existsSync(root) ? fs.readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a)) : [];
  return versions.map((v) => path.join(root, v, 'bin')).find((dir) => fs.existsSync(path.join(dir, 'pg_ctl')) && fs.existsSync(path.join(dir, 'initdb')));
}

function osUserExists(name: string): boolean {
  return fs.readFileSync('/etc/passwd', 'utf8').split('\n').some((line) => line.startsWith(`${name}:`));
}

/** Undefined when a private server can be made here; otherwise why not. */
export function privatePostgresUnavailable(): string | undefined {
  if (!binDir()) return 'no PostgreSQL binaries under /usr/lib/postgresql/*/bin (apt-get install postgresql)';
  if (process.getuid?.() === 0 && !osUserExists(OS_USER)) return `running as root and there is no "${OS_USER}" OS user to run PostgreSQL as`;
  return undefined;
}

/**
 * The skip value for a suite that needs a private server: false when one can be
 * made; otherwise a loud warning, or under CI a failure (like the shared-server suites).
 */
export function privatePostgresSkip(suite: string): string | false {
  const reason = privatePostgresUnavailable();
  if (reason && process.env.CI) throw new Error(`${reason}; CI must run the ${suite} suite`);
  if (reason) console.warn(`\n!!! SKIPPING the ${suite} suite: ${reason}\n`);
  return reason ? `SKIPPED: ${reason}` : false;
}

export async function startPrivatePostgres(label: string): Promise<PrivatePostgres> {
  const bin = binDir();
  if (!bin) throw new Error(privatePostgresUnavailable());
  const asRoot = process.getuid?.() === 0;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `coffer-pg-${label}-`));
  const dataDir = path.join(dir, 'data');
  const logPath = path.join(dir, 'server.log');
  if (asRoot) await run('chown', ['-R', `${OS_USER}:`, dir]);
  const pgBinary = async (name: string, args: string[]) => {
    const [file, argv] = asRoot ? ['runuser', ['-u', OS_USER, '--', path.join(bin, name), ...args]] : [path.join(bin, name), args];
    try {
      return await run(file, argv, { timeout: 120_000 });
    } catch (err) {
      const { stdout, stderr } = err as { stdout?: string; stderr?: string };
      throw new Error(`${name} ${args.join(' ')} failed: ${(err as Error).message}\n${stdout ?? ''}${stderr ?? ''}\n${readLog()}`);
    }
  };
  const readLog = () => (fs.existsSync(logPath) ? fs.readFileSync(logPath, 'utf8') : '');

  await pgBinary('initdb', ['-D', dataDir, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-sync']);
  const port = await freePort();
  // fsync off: the faults here kill server processes, not the machine, so written WAL stays in the
  // page cache and recovery finds it; synchronous_commit stays on (an ack still waits for its WAL write).
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=60`;
  const start = async () => {
    await pgBinary('pg_ctl', ['start', '-w', '-t', '60', '-D', dataDir, '-l', logPath, '-o', options]);
  };
  const stop = async (mode: 'immediate' | 'fast') => {
    await pgBinary('pg_ctl', ['stop', '-w', '-t', '60', '-D', dataDir, '-m', mode]);
  };
  const url = (database = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${database}`;
  // pg_ctl daemonises the server: a test process that ends without remove() must not leave it running.
  const stopOnExit = () => {
    if (!fs.existsSync(path.join(dataDir, 'postmaster.pid'))) return;
    const argv = ['stop', '-D', dataDir, '-m', 'immediate'];
    try {
      if (asRoot) execFileSync('runuser', ['-u', OS_USER, '--', path.join(bin, 'pg_ctl'), ...argv], { stdio: 'ignore' });
      else execFileSync(path.join(bin, 'pg_ctl'), argv, { stdio: 'ignore' });
    } catch {
      // already stopped
    }
  };
  process.once('exit', stopOnExit);
  await start();
  return {
    port,
    url,
    async createDatabase(name) {
      const client = new pg.Client({ connectionString: url() });
      await client.connect();
      try {
        await client.query(`create database ${name}`);
      } finally {
        await client.end();
      }
      return url(name);
    },
    stop,
    start,
    log: readLog,
    async remove() {
      process.off('exit', stopOnExit);
      if (fs.existsSync(path.join(dataDir, 'postmaster.pid'))) await stop('immediate').catch(() => {});
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
