import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import { bankMigrations } from './bank-simulator/migrations.ts';
import { migrations } from './migrations.ts';

/**
 * A database migrated by a landed version refuses to go on if a new migration's
 * name sorts before one it already ran (Kysely's migrator checks the order). So
 * the sorted list may only grow at its end. `migrations.landed.json` holds the
 * names that have landed on main: add a new migration's name there when it lands.
 */
const landed = JSON.parse(fs.readFileSync(new URL('./migrations.landed.json', import.meta.url), 'utf8')) as { coffer: string[]; bank: string[] };

for (const [store, current] of [
  ['coffer', Object.keys(migrations)],
  ['bank', Object.keys(bankMigrations)],
] as const) {
  test(`${store} migrations: every landed one is still there, and new ones sort after all of them`, () => {
    const sorted = [...current].sort();
    assert.deepEqual(sorted.slice(0, landed[store].length), landed[store], 'the landed migrations, in their order, come first');
    const newest = landed[store].at(-1) ?? '';
    for (const name of sorted.slice(landed[store].length)) assert.ok(name > newest, `${name} must sort after ${newest}`);
  });
}
