/**
 * The embedded store (no DATABASE_URL) is one process's: a second Coffer
 * process on the same DATA_DIR is refused with a clear message, and the lock
 * left by a process killed with SIGKILL does not keep the next one out.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { platformKeys, seedBankKeys, tempDir } from '../bank-simulator/support.ts';
import { type CofferChild, startCofferChild } from './support.ts';

const dir = tempDir('embedded');
const started: CofferChild[] = [];

after(async () => {
  await Promise.all(started.map((coffer) => coffer.stop()));
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a second process on the same embedded data folder is refused; a killed owner leaves nothing in the way', async () => {
  seedBankKeys(dir);
  const env = {
    DATA_DIR: path.join(dir, 'data'),
    KEYS_DIR: path.dirname(platformKeys(dir).publicKeyPath),
    BANK_PUBLIC_KEY_PATH: path.join(dir, 'bank', 'keys', 'bank-public.pem'),
  };
  const owner = await startCofferChild('owner', env);
  started.push(owner);

  await assert.rejects(startCofferChild('second', env), /is in use by process \d+.*use DATABASE_URL for several processes/s);

  await owner.kill();
  const next = await startCofferChild('next', env);
  started.push(next);
  assert.ok((await fetch(`${next.url}/readyz`)).ok, 'the lock of the killed owner was taken over');
});
