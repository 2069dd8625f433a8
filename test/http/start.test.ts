import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startCoffer } from '../../src/main.ts';
import { loadConfig } from '../../src/platform/config.ts';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/** Runs `npm start`'s entry point as its own process and waits for it to exit. */
function runMain(env: Record<string, string>): Promise<{ exitCode: number | null; stderr: string }> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'silent', ...env };
  delete childEnv.DATABASE_URL;
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { cwd: repoRoot, env: childEnv });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  return new Promise((resolve) => {
    child.on('exit', (exitCode) => {
      clearTimeout(killer);
      resolve({ exitCode, stderr });
    });
  });
}

describe('startCoffer', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-start-'));
  after(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  test('serves on an embedded store, and a second server on the same DATA_DIR is refused', async () => {
    const config = loadConfig({ DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'silent' });
    const coffer = await startCoffer(config);
    try {
      const response = await fetch(`${coffer.url}/healthz`);
      assert.equal(response.status, 200);
      assert.deepEqual(await response.json(), { status: 'ok' });

      const second = await runMain({ DATA_DIR: dataDir, PORT: '0' });
      assert.equal(second.exitCode, 1);
      assert.match(second.stderr, new RegExp(`in use by process ${process.pid}`));
      assert.doesNotMatch(second.stderr, /\n\s+at /, 'an operator gets a message, not a stack trace');
    } finally {
      await coffer.close();
    }
  });

  test('the data folder is free again once the first server has closed', async () => {
    const coffer = await startCoffer(loadConfig({ DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'silent' }));
    try {
      assert.equal((await fetch(`${coffer.url}/readyz`)).status, 200);
    } finally {
      await coffer.close();
    }
  });

  test('a bad setting stops `npm start` with a message naming the variable', async () => {
    const result = await runMain({ PORT: 'three thousand' });
    assert.equal(result.exitCode, 1);
    assert.match(result.stderr, /Configuration error: PORT must be a whole number/);
  });
});

describe('the demo platform (DEMO_SEED=1, as `npm start` runs Coffer)', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-demo-'));
  after(() => fs.rmSync(dataDir, { recursive: true, force: true }));
  const config = loadConfig({ DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'silent', DEMO_SEED: '1' });

  test('seeds operators who can log in, one funded ACTIVE merchant and two products on sale, and a restart adds nothing', async () => {
    for (let start = 0; start < 2; start++) {
      const coffer = await startCoffer(config);
      try {
        const demo = JSON.parse(fs.readFileSync(path.join(dataDir, 'demo-operators.json'), 'utf8'));
        assert.equal(fs.statSync(path.join(dataDir, 'demo-operators.json')).mode & 0o777, 0o600);
        assert.deepEqual(demo.operators.map((o: { role: string }) => o.role), ['admin', 'maker', 'checker', 'viewer']);
        const tokens: string[] = [];
        for (const operator of demo.operators) {
          const login = await fetch(`${coffer.url}/operators/login`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ username: operator.username, password: operator.password }),
          });
          assert.equal(login.status, 200, `${operator.username} logs in`);
          tokens.push(((await login.json()) as { token: string }).token);
        }
        const merchant = await fetch(`${coffer.url}/admin/merchants/${demo.merchantId}`, { headers: { authorization: `Bearer ${tokens[0]}` } });
        assert.equal(merchant.status, 200);
        const body = (await merchant.json()) as { status: string; settlementAccounts: { currency: string; balance: string }[] };
        assert.equal(body.status, 'ACTIVE');
        assert.deepEqual(body.settlementAccounts.map((a) => [a.currency, a.balance]), [['CNY', '100000.00']], 'funded once over two starts');
        const all = await fetch(`${coffer.url}/admin/merchants`, { headers: { authorization: `Bearer ${tokens[0]}` } });
        assert.equal(((await all.json()) as { data: unknown[] }).data.length, 1);
        const products = (await (await fetch(`${coffer.url}/products?page=1&size=10`)).json()) as { data: { code: string; status: string }[]; total: number };
        assert.deepEqual(products.data.map((p) => [p.code, p.status]).sort(), [['DEMO-30D', 'ON_SALE'], ['DEMO-90D', 'ON_SALE']], 'two products on sale, once');
      } finally {
        await coffer.close();
      }
    }
  });
});
