/**
 * The error catalogue is complete: every code Coffer (or the bank and channels
 * it passes codes through from) can put in a response is published, with its
 * meaning, at GET /errors and in /docs — and nothing published is dead.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '../../src/platform/config.ts';
import { errorCatalogue, outcomeCatalogue } from '../../src/platform/errors.ts';
import { buildHttpServer } from '../../src/platform/http/server.ts';
import { createLogger } from '../../src/platform/log.ts';
import { createMetrics } from '../../src/platform/metrics.ts';
import { openTestStore } from '../support/stores.ts';

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));
const CATALOGUE_FILE = 'platform/errors.ts';
/** The webhook-signature helper merchants copy into their receivers: its result codes are the receiver's, not Coffer's API. */
const RECEIVER_LIBRARY = 'modules/webhooks/verify.ts';

interface Use {
  code: string;
  at: string;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.tsx?$/.test(entry.name) && !entry.name.endsWith('.test.ts') ? [path] : [];
  });
}

const files = sourceFiles(SRC).map((path) => {
  const name = relative(SRC, path);
  return { name, text: readFileSync(path, 'utf8'), bank: name.startsWith('bank-simulator/') };
});

function uses(pattern: RegExp, pick: (file: (typeof files)[number]) => boolean): Use[] {
  return files.filter(pick).flatMap((file) =>
    [...file.text.matchAll(pattern)].map((match) => {
      const line = file.text.slice(0, match.index).split('\n').length;
      return { code: match[1]!, at: `src/${file.name}:${line}` };
    }),
  );
}

const coffer = (file: (typeof files)[number]) => !file.bank && file.name !== CATALOGUE_FILE && file.name !== RECEIVER_LIBRARY;

/** Codes an HTTP problem can carry: thrown as DomainError, tested for, or mapped at the edge. */
const problemUses = [
  ...uses(/DomainError\(\s*'([A-Z][A-Z0-9_]+)'/g, coffer),
  ...uses(/isDomainError\([^,()]+,\s*'([A-Z][A-Z0-9_]+)'/g, coffer),
  ...uses(/\bcode:\s*'([A-Z][A-Z0-9_]+)'/g, (file) => file.name.startsWith('platform/http/')),
];

/** Codes a failed record's errorCode can hold, set by Coffer or by the bank and channels. */
const OUTCOME_PATTERNS = [
  /errorCode:\s*'([A-Z][A-Z0-9_]+)'/g,
  /errorCode\s*\?\?\s*'([A-Z][A-Z0-9_]+)'/g,
  /error_code\s*\?\?\s*'([A-Z][A-Z0-9_]+)'/g,
  /\bfail(?:Unsent|ed)?\((?:[^,()']+,\s*)?'([A-Z][A-Z0-9_]+)'/g,
  /cancelUnpaid\([^,()]+,[^)]*'([A-Z][A-Z0-9_]+)'/g,
  /const errorCode = [^;]*?'([A-Z][A-Z0-9_]+)'/g,
];
const outcomeUses = OUTCOME_PATTERNS.flatMap((pattern) =>
  uses(pattern, (file) => file.name !== CATALOGUE_FILE && file.name !== RECEIVER_LIBRARY),
);

function missing(found: Use[], catalogue: Record<string, unknown>): string[] {
  return found.filter((use) => !(use.code in catalogue)).map((use) => `${use.code} at ${use.at}`);
}

describe('the error catalogue', () => {
  test('every code a problem response can carry is in the catalogue', () => {
    assert.ok(problemUses.length > 100, `the scan found only ${problemUses.length} uses: the patterns are broken`);
    assert.deepEqual(missing(problemUses, errorCatalogue), []);
  });

  test("every code a failed record's errorCode can hold is in the catalogue", () => {
    assert.ok(outcomeUses.length > 20, `the scan found only ${outcomeUses.length} uses: the patterns are broken`);
    assert.deepEqual(missing(outcomeUses, { ...outcomeCatalogue, ...errorCatalogue }), []);
  });

  test('every code in the catalogue is used somewhere (no dead entries)', () => {
    const everything = files.filter((file) => file.name !== CATALOGUE_FILE).map((file) => file.text).join('\n');
    const dead = [...Object.keys(errorCatalogue), ...Object.keys(outcomeCatalogue)].filter((code) => !everything.includes(`'${code}'`));
    assert.deepEqual(dead, []);
  });

  test('every entry has an HTTP status or a source, and a sentence for humans', () => {
    for (const [code, { status, title }] of Object.entries(errorCatalogue)) {
      assert.ok(status >= 400 && status <= 599, `${code}: status ${status}`);
      assert.ok(title.length > 10, `${code}: "${title}"`);
    }
    for (const [code, { title }] of Object.entries(outcomeCatalogue)) assert.ok(title.length > 10, `${code}: "${title}"`);
  });
});

describe('the catalogue over HTTP', () => {
  let base: string;
  let close: () => Promise<void>;

  before(async () => {
    const store = await openTestStore('pglite');
    const config = loadConfig({ LOG_LEVEL: 'silent' });
    const app = await buildHttpServer({ config, store, logger: createLogger(config), metrics: createMetrics(), modules: [] });
    await app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    close = async () => {
      await app.close();
      await store.close();
    };
  });
  after(() => close());

  test('GET /errors lists every problem code with its status and every outcome code with its source', async () => {
    const response = await fetch(`${base}/errors`);
    assert.equal(response.status, 200);
    const body = (await response.json()) as { code: string; kind: string; status?: number; source?: string; title: string }[];
    const problems = new Map(body.filter((e) => e.kind === 'problem').map((e) => [e.code, e]));
    const outcomes = new Map(body.filter((e) => e.kind === 'outcome').map((e) => [e.code, e]));
    for (const [code, { status, title }] of Object.entries(errorCatalogue)) {
      assert.deepEqual(problems.get(code), { code, kind: 'problem', status, title });
    }
    for (const [code, { source, title }] of Object.entries(outcomeCatalogue)) {
      assert.deepEqual(outcomes.get(code), { code, kind: 'outcome', source, title });
    }
    assert.equal(body.length, Object.keys(errorCatalogue).length + Object.keys(outcomeCatalogue).length);
  });

  test('the docs (/openapi.json) show every code in a table row', async () => {
    const spec = (await (await fetch(`${base}/openapi.json`)).json()) as { info: { description: string } };
    for (const code of [...Object.keys(errorCatalogue), ...Object.keys(outcomeCatalogue)]) {
      assert.match(spec.info.description, new RegExp(`\\| \`${code}\` \\|`), code);
    }
  });
});
