/**
 * The agent on its own, over a real embedded store: a record settles once, and
 * one request number yields exactly one outbox event however often the bank speaks.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { openTestStore, type TestStore } from '../../../test/support/stores.ts';
import { SystemClock } from '../../platform/clock.ts';
import { loadConfig } from '../../platform/config.ts';
import { isDomainError } from '../../platform/errors.ts';
import { createLogger } from '../../platform/log.ts';
import { ensureKeyPair, type GatewayRequest, type KeyPair, signText } from '../../protocol/depository.ts';
import { DepositoryAgent, newRequestNo } from './depository.service.ts';
import { Transitions } from './depository.types.ts';

describe('depository agent', () => {
  let store: TestStore & { dispose(): Promise<void> };
  let dir: string;
  let bank: KeyPair;
  let agent: DepositoryAgent;
  const logged: { level: string; msg: string }[] = [];

  before(async () => {
    store = await openTestStore('pglite');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-agent-'));
    bank = ensureKeyPair(path.join(dir, 'bank'), 'bank');
    const config = loadConfig({ KEYS_DIR: path.join(dir, 'platform'), BANK_PUBLIC_KEY_PATH: bank.publicKeyPath, PLATFORM_NO: 'p1' });
    const logger = createLogger({ logLevel: 'info' }, { write: (line: string) => logged.push(JSON.parse(line) as { level: string; msg: string }) });
    agent = new DepositoryAgent({ db: store.db, clock: new SystemClock(), config, logger });
  });

  after(async () => {
    await store?.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function notify(gateway: GatewayRequest, status: 'SUCCESS' | 'FAIL') {
    const request = JSON.parse(gateway.reqData) as { requestNo: string; userNo: string; amount: string; currency: string };
    const reqData = JSON.stringify({ ...request, serviceName: gateway.serviceName, status, timestamp: new Date().toISOString() });
    return agent.receiveNotification({ serviceName: gateway.serviceName, platformNo: 'p1', reqData, signature: signText(reqData, bank.privateKey) });
  }

  async function eventsFor(requestNo: string): Promise<number> {
    const { rows } = await sql<{ n: string }>`select count(*)::text as n from outbox_messages where key = ${requestNo}`.execute(store.db);
    return Number(rows[0]!.n);
  }

  test('request numbers are unique and readable', () => {
    const numbers = new Set(Array.from({ length: 1000 }, () => newRequestNo()));
    assert.equal(numbers.size, 1000);
    for (const n of numbers) assert.match(n, /^REQ\d{17}[0-9A-F]{12}$/);
  });

  test('the transitions table: PENDING settles once, final states never move', () => {
    assert.deepEqual(Transitions, { PENDING: ['SUCCEEDED', 'FAILED'], SUCCEEDED: [], FAILED: [] });
  });

  test('a record settles once; duplicates and contradictions change nothing and publish nothing more', async () => {
    const gateway = await agent.prepare('RECHARGE', { userNo: 'usr_1', amountMinor: 1234n, currency: 'CNY', callbackUrl: 'https://x.example/cb' });
    const requestNo = (JSON.parse(gateway.reqData) as { requestNo: string }).requestNo;
    const pending = await agent.findTransaction(requestNo);
    assert.equal(pending?.status, 'PENDING');
    assert.equal(pending?.synced, false);
    assert.equal(pending?.requestData, gateway.reqData);

    const results = await Promise.all([notify(gateway, 'SUCCESS'), notify(gateway, 'SUCCESS'), notify(gateway, 'SUCCESS')]);
    assert.deepEqual(results.map((r) => r.outcome).sort(), ['duplicate', 'duplicate', 'settled']);
    const settled = await agent.findTransaction(requestNo);
    assert.equal(settled?.status, 'SUCCEEDED');
    assert.equal(settled?.synced, true);
    assert.ok(settled?.settledAt instanceof Date, 'settled_at is set');
    assert.equal(await eventsFor(requestNo), 1);

    assert.equal((await notify(gateway, 'FAIL')).outcome, 'contradicted');
    assert.equal((await agent.findTransaction(requestNo))?.status, 'SUCCEEDED', 'the first word stands');
    assert.equal(await eventsFor(requestNo), 1);
    assert.ok(logged.some((line) => line.level === 'error' && /contradicted/.test(line.msg)), 'the contradiction is logged as an error');
  });

  test('prepare refuses a bad callback URL and a reused request number', async () => {
    const input = { userNo: 'usr_1', amountMinor: 100n, currency: 'CNY', callbackUrl: 'javascript:alert(1)' };
    await assert.rejects(agent.prepare('RECHARGE', input), (err) => isDomainError(err, 'VALIDATION_FAILED'));
    const requestNo = newRequestNo();
    await agent.prepare('RECHARGE', { ...input, callbackUrl: 'https://x.example', requestNo });
    await assert.rejects(agent.prepare('RECHARGE', { ...input, callbackUrl: 'https://x.example', requestNo }), (err) => isDomainError(err, 'DUPLICATE_REQUEST'));
    await assert.rejects(
      agent.prepare('WITHDRAW', { ...input, callbackUrl: 'https://x.example', feeMinor: 100n }),
      (err) => isDomainError(err, 'INVALID_AMOUNT'),
      'a withdrawal fee must be less than the amount',
    );
  });
});
