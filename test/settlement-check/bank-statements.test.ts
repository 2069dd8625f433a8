/**
 * Coffer believes a bank statement only when the bank signed it: the client
 * (BankStatements) against a stand-in bank that answers what the test tells it
 * to, over real HTTP.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BankPublicKey } from '../../src/platform/bank-key.ts';
import { isDomainError } from '../../src/platform/errors.ts';
import { ensureKeyPair, type KeyPair, signText, verifyText } from '../../src/protocol/depository.ts';
import type { StatementData } from '../../src/protocol/statement.ts';
import { BankStatements } from '../../src/modules/settlement-check/index.ts';

const DATE = '2026-12-01';
const PLATFORM_NO = 'coffer-statements';

describe("Coffer's bank statement client", () => {
  let dir: string;
  let platform: KeyPair;
  let bankKeys: KeyPair;
  let impostor: KeyPair;
  let server: http.Server;
  let answer: (query: URLSearchParams) => unknown = () => ({});
  let client: BankStatements;

  const statement = (fields: Partial<StatementData> = {}): string =>
    JSON.stringify({
      platformNo: PLATFORM_NO,
      date: DATE,
      complete: true,
      generatedAt: new Date().toISOString(),
      lines: [{ kind: 'PAYOUT', id: 'po_1', service: 'PAYOUT', amount: '25.00', currency: 'CNY', status: 'SUCCEEDED', finalAt: `${DATE}T10:00:00.000Z` }],
      ...fields,
    });

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-statements-'));
    platform = ensureKeyPair(path.join(dir, 'platform'), 'platform');
    bankKeys = ensureKeyPair(path.join(dir, 'bank'), 'bank');
    impostor = ensureKeyPair(path.join(dir, 'impostor'), 'bank');
    server = http.createServer((req, res) => {
      const query = new URL(req.url!, 'http://x').searchParams;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(answer(query)));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    client = new BankStatements({
      bankUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      platformNo: PLATFORM_NO,
      platformPrivateKey: platform.privateKey,
      bankPublicKey: new BankPublicKey(bankKeys.publicKeyPath, console),
    });
  });
  after(async () => {
    await new Promise((resolve) => server.close(resolve));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function refusal(): Promise<string> {
    try {
      await client.statement(DATE);
    } catch (err) {
      assert.ok(isDomainError(err), String(err));
      return err.code;
    }
    assert.fail('the statement was believed');
  }

  test("a statement signed by the bank is believed; Coffer's request is signed by the platform", async () => {
    let asked: URLSearchParams | undefined;
    const text = statement();
    answer = (query) => {
      asked = query;
      return { reqData: text, signature: signText(text, bankKeys.privateKey) };
    };
    const got = await client.statement(DATE);
    assert.deepEqual(got.data, JSON.parse(text));
    assert.equal(got.sha256, createHash('sha256').update(text).digest('hex'));
    assert.equal(asked?.get('platformNo'), PLATFORM_NO);
    assert.ok(verifyText(asked!.get('reqData')!, asked!.get('signature')!, platform.publicKey), 'the request carries the platform signature');
    assert.equal(JSON.parse(asked!.get('reqData')!).date, DATE);
  });

  test('an unsigned statement is refused', async () => {
    answer = () => ({ reqData: statement() });
    assert.equal(await refusal(), 'BANK_STATEMENT_UNVERIFIED');
  });

  test('a statement signed with another key (a forgery) is refused', async () => {
    answer = () => {
      const text = statement();
      return { reqData: text, signature: signText(text, impostor.privateKey) };
    };
    assert.equal(await refusal(), 'BANK_STATEMENT_UNVERIFIED');
  });

  test('a statement whose text was changed after the bank signed it is refused', async () => {
    answer = () => {
      const text = statement();
      return { reqData: text.replace('25.00', '2500.00'), signature: signText(text, bankKeys.privateKey) };
    };
    assert.equal(await refusal(), 'BANK_STATEMENT_UNVERIFIED');
  });

  test("a bank-signed statement of another day or platform is not taken for the one asked for", async () => {
    for (const other of [statement({ date: '2026-11-30' }), statement({ platformNo: 'someone-else' })]) {
      answer = () => ({ reqData: other, signature: signText(other, bankKeys.privateKey) });
      assert.equal(await refusal(), 'BANK_STATEMENT_UNVERIFIED');
    }
  });
});
