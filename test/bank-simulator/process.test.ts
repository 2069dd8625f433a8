/**
 * The simulator as the separate program it is: started as a child process
 * (`node --import tsx src/bank-simulator/main.ts`) on a temp DATA_DIR, driven
 * over real HTTP, stopped with SIGTERM and started again on the same data.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadPublicKey } from '../../src/protocol/depository.ts';
import {
  type BankUnderTest,
  bankEnv,
  cardBalance,
  deliveredNotification,
  FakePlatform,
  openAccount,
  PASSWORD,
  platformKeys,
  queryTransaction,
  sandbox,
  seedBankKeys,
  startInProcess,
  startPayment,
  submit,
  tempDir,
  uniqueNo,
  virtualBalance,
} from './support.ts';

const MAIN = path.resolve('src/bank-simulator/main.ts');
const ADMIN_TOKEN = 'bank-test-admin-token';

interface Child {
  process: ChildProcess;
  url: string;
  output: () => string;
}

async function startChild(env: Record<string, string>): Promise<Child> {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the simulator did not start:\n${output}`)), 30_000);
    const check = () => {
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the simulator exited with ${code}:\n${output}`));
    });
  });
  return { process: child, url, output: () => output };
}

async function stopChild(child: Child): Promise<number | null> {
  if (child.process.exitCode !== null) return child.process.exitCode;
  const exited = new Promise<number | null>((resolve) => child.process.once('exit', (code) => resolve(code)));
  child.process.kill('SIGTERM');
  return exited;
}

describe('bank simulator as a child process', () => {
  const dir = tempDir('child');
  const keys = platformKeys(dir);
  seedBankKeys(dir);
  const platform = new FakePlatform();
  const env = () => bankEnv(dir, keys, { ADMIN_TOKEN });
  let child: Child;
  let bank: BankUnderTest;

  before(async () => {
    await platform.start();
    child = await startChild(env());
    const bankPublicKey = loadPublicKey(path.join(dir, 'bank', 'keys', 'bank-public.pem'));
    platform.bankPublicKey = bankPublicKey;
    bank = { url: child.url, dir, platform, keys, bankPublicKey, adminToken: ADMIN_TOKEN, close: async () => {} };
  });

  after(async () => {
    if (child) await stopChild(child);
    await platform.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('keeps its own store and keys under DATA_DIR/bank and answers /healthz', async () => {
    assert.ok(fs.existsSync(path.join(dir, 'bank', 'db', 'pglite')));
    assert.ok(fs.existsSync(path.join(dir, 'bank', 'keys', 'bank-private.pem')));
    const health = await fetch(`${bank.url}/healthz`);
    assert.deepEqual([health.status, await health.json()], [200, { status: 'ok' }]);
  });

  it('opens an account, recharges and notifies, all over real HTTP', async () => {
    const userNo = uniqueNo('u');
    const { cardNumber, requestNo: registerNo } = await openAccount(bank, userNo);
    assert.equal((await deliveredNotification(bank, registerNo)).result.status, 'SUCCESS');
    const { page, requestNo } = await startPayment(bank, 'RECHARGE', userNo, '120.00');
    const redirect = await submit(bank, page, { password: PASSWORD });
    assert.equal(redirect.status, 303);
    const n = await deliveredNotification(bank, requestNo);
    assert.deepEqual([n.signatureValid, n.result.status, n.result.amount], [true, 'SUCCESS', '120.00']);
    assert.equal(await virtualBalance(bank, userNo), '120.00');
    assert.equal(await cardBalance(bank, cardNumber), '880.00');

    // restart on the same data: balances, requests and keys survive
    assert.equal(await stopChild(child), 0, child.output());
    child = await startChild(env());
    bank.url = child.url;
    assert.equal(await virtualBalance(bank, userNo), '120.00');
    const query = await queryTransaction(bank, requestNo);
    assert.deepEqual([query.signatureValid, query.data?.status], [true, 'SUCCESS']);
    const again = await startPayment(bank, 'RECHARGE', userNo, '1.00', { requestNo });
    assert.equal(again.page.status, 409, 'a request number stays used across restarts');
  });

  it('requires ADMIN_TOKEN on the sandbox endpoints when it is set', async () => {
    assert.equal((await sandbox(bank, 'GET', '/sandbox/faults', undefined, '')).status, 401);
    assert.equal((await sandbox(bank, 'GET', '/sandbox/faults', undefined, 'wrong-token')).status, 401);
    assert.equal((await sandbox(bank, 'POST', '/sandbox/faults', { holdNotifications: true }, 'wrong-token')).status, 401);
    assert.equal((await sandbox(bank, 'GET', '/sandbox/notifications?requestNo=x', undefined, '')).status, 401);
    assert.equal((await sandbox(bank, 'GET', '/sandbox/faults')).status, 200);
  });
});

describe('bank simulator with SANDBOX=false', () => {
  it('answers 404 on every sandbox endpoint', async () => {
    const bank = await startInProcess({ SANDBOX: 'false' });
    try {
      for (const [method, route] of [
        ['GET', '/sandbox/notifications?requestNo=x'],
        ['POST', '/sandbox/faults'],
        ['POST', '/sandbox/cards/6222000011112222/top-up'],
        ['POST', '/sandbox/notifications/ntf_x/resend'],
      ] as const) {
        assert.equal((await sandbox(bank, method, route, method === 'POST' ? {} : undefined)).status, 404, route);
      }
    } finally {
      await bank.close();
    }
  });
});
