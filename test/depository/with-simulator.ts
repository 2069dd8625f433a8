/**
 * A real Coffer on either store beside the bank simulator as its own process:
 * the simulator's bank key signs the depository notifications (so `api` can
 * open users' accounts through the real flow) and its channels take card
 * payments. Shared by the suites whose flows reach the payment channels.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { RunningCoffer } from '../../src/main.ts';
import { ensureKeyPair } from '../../src/protocol/depository.ts';
import { bankEnv, platformKeys, seedBankKeys, tempDir } from '../bank-simulator/support.ts';
import { type BankChild, startBankChild } from '../browser/support.ts';
import { Api, createBooks, PLATFORM_NO, startServer, type TestBooks } from './support.ts';

export interface SimulatorRig {
  bank: BankChild;
  books: TestBooks;
  coffer: RunningCoffer;
  api: Api;
  close(): Promise<void>;
}

export async function startWithBankSimulator(kind: TestBooks['kind'], label: string, env: Record<string, string> = {}): Promise<SimulatorRig> {
  const dir = tempDir(label);
  const platform = platformKeys(dir);
  seedBankKeys(dir);
  const bankKeys = ensureKeyPair(path.join(dir, 'bank', 'keys'), 'bank');
  const bank = await startBankChild(bankEnv(dir, platform, { PLATFORM_NO }));
  const books = await createBooks(kind);
  const keys = { dir, platformKeysDir: path.dirname(platform.publicKeyPath), bank: bankKeys, impostor: bankKeys, dispose() {} };
  let coffer: RunningCoffer;
  try {
    coffer = await startServer(books, keys, bank.url, env);
  } catch (err) {
    await bank.stop();
    await books.dispose();
    throw err;
  }
  return {
    bank,
    books,
    coffer,
    api: new Api(coffer.url, bankKeys),
    async close() {
      await coffer.close();
      await bank.stop();
      await books.dispose();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
