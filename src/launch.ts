/**
 * `npm start`: the whole sandbox on one machine — the bank depository simulator
 * as its own process, and the Coffer server — on embedded stores in DATA_DIR.
 * Each side's key pair is made on first start; each reads the other's public
 * key from the data folder (the only thing they share).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { loadConfig } from './platform/config.ts';
import { ensureKeyPair } from './protocol/depository.ts';

const config = loadConfig();
ensureKeyPair(config.depository.keysDir, 'platform');
ensureKeyPair(path.dirname(config.depository.bankPublicKeyPath), 'bank');

// The sandbox comes with a demo platform to click through (src/demo.ts); DEMO_SEED=0 starts empty.
const env = { DEMO_SEED: '1', ...process.env };

function run(name: string, entry: string): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', entry], { stdio: 'inherit', env });
  child.on('exit', (code, signal) => {
    if (!stopping) {
      console.error(`${name} stopped (${signal ?? `exit ${code}`}); stopping the sandbox`);
      stop(1);
    }
  });
  return child;
}

let stopping = false;
const children = [run('bank simulator', 'src/bank-simulator/main.ts'), run('Coffer', 'src/main.ts')];

function stop(exitCode: number): void {
  stopping = true;
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
  Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : null))).then(() =>
    process.exit(exitCode),
  );
}

process.once('SIGINT', () => stop(0));
process.once('SIGTERM', () => stop(0));
console.log(
  `Coffer sandbox: wallet and API at ${config.publicUrl} (docs at ${config.publicUrl}/docs), ` +
    `bank depository simulator at ${config.bankPublicUrl}` +
    (env.DEMO_SEED === '1' ? `; operators log in at ${config.publicUrl}/ui/operator/login with the demo passwords in ${path.join(config.dataDir, 'demo-operators.json')}` : ''),
);
