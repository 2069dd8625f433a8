/**
 * A 100,000-row batch file over real HTTP on the embedded store: accepted
 * whole with bounded memory (the file is parsed as a stream and inserted in
 * chunks inside one transaction). Peak RSS growth is printed and bounded; no
 * time is asserted. Bigger files are refused with clear codes.
 */
import assert from 'node:assert/strict';
import v8 from 'node:v8';
import vm from 'node:vm';
import { after, before, describe, test } from 'node:test';
import { assertProblem, createBooks, type Rig, startRig } from '../payouts/support.ts';
import { batchMerchant, type BatchMerchant, csvOf, results, upload } from './support.ts';

const ROWS = Number(process.env.BATCH_TEST_ROWS ?? 100_000);

// A garbage collection on demand (as --expose-gc gives), so the live heap can be told from uncollected garbage.
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

function bigFile(prefix: string, n: number): string {
  return csvOf(Array.from({ length: n }, (_, i) => `${prefix}-${i},${(i % 500) + 1}.25,CNY,"Beneficiary ${i}",62220000${String(i).padStart(8, '0')},ICBC,row ${i}`));
}

describe('a 100,000-row batch file (embedded store)', () => {
  let rig: Rig;
  let disposeBooks = async () => {};
  let m: BatchMerchant;

  before(async () => {
    const books = await createBooks('pglite');
    disposeBooks = () => books.dispose();
    rig = await startRig(books);
    m = await batchMerchant(rig.admin);
  });

  after(async () => {
    await rig?.close();
    await disposeBooks();
  });

  test('is accepted whole, with bounded memory growth', async () => {
    const csv = bigFile('big', ROWS);
    gc();
    const baseline = process.memoryUsage();
    const peak = { rss: baseline.rss, liveHeap: baseline.heapUsed, arrayBuffers: baseline.arrayBuffers };
    let ticks = 0;
    let liveSamples = 0;
    const sampler = setInterval(() => {
      const now = process.memoryUsage();
      peak.rss = Math.max(peak.rss, now.rss);
      peak.arrayBuffers = Math.max(peak.arrayBuffers, now.arrayBuffers);
      // Every 4th sample collects first: the heap then shows what is live, not garbage not yet collected.
      if (++ticks % 4 === 0) {
        gc();
        liveSamples += 1;
        peak.liveHeap = Math.max(peak.liveHeap, process.memoryUsage().heapUsed);
      }
    }, 10);
    const started = Date.now();
    let response;
    try {
      response = await upload(m.maker, csv);
    } finally {
      clearInterval(sampler);
    }
    const uploadMs = Date.now() - started;
    const mb = (bytes: number) => Math.round(bytes / 1024 / 1024);
    const rssGrowthMb = mb(peak.rss - baseline.rss);
    const heapGrowthMb = mb(peak.liveHeap - baseline.heapUsed);
    console.log(JSON.stringify({ rows: ROWS, fileMb: mb(Buffer.byteLength(csv)), peakRssGrowthMb: rssGrowthMb, peakLiveJsHeapGrowthMb: heapGrowthMb, peakArrayBuffersGrowthMb: mb(peak.arrayBuffers - baseline.arrayBuffers), liveSamples, uploadMs }));
    assert.equal(response.status, 201, JSON.stringify(response.body).slice(0, 2000));
    assert.equal(response.body.count, ROWS);
    // sum over i of ((i % 500) + 1).25 = 200 cycles x (500 x 501 / 2 + 500 x 0.25)
    assert.equal(response.body.totalAmount, '25075000.00');
    assert.equal(response.body.rows.PENDING.count, ROWS);
    const lines = await results(m.maker, response.body.id);
    assert.equal(lines.length, ROWS);
    assert.equal(lines[ROWS - 1]!.line, String(ROWS + 1));
    // The embedded store keeps its database in this process's memory, so RSS grows with the 100,000 stored rows
    // (and the heap's room for garbage); the live JS heap must not: parsed rows are never all held at once
    // (100,000 row objects with their strings would be 50+ MB).
    assert.ok(liveSamples > 0, 'the live heap was sampled during the upload');
    assert.ok(heapGrowthMb < 50, `the live JS heap grew by ${heapGrowthMb} MB`);
    assert.ok(rssGrowthMb < 400, `peak RSS grew by ${rssGrowthMb} MB`);
  });

  test('one row more than a batch may have is 413 PAYOUT_BATCH_TOO_LARGE; a body over 20 MB is 413 PAYLOAD_TOO_LARGE', async () => {
    assertProblem(await upload(m.maker, bigFile('over', ROWS + 1)), 413, 'PAYOUT_BATCH_TOO_LARGE');
    const huge = csvOf([`h-1,1.00,CNY,Li,6222000011112222,ICBC,${'x'.repeat(21 * 1024 * 1024)}`]);
    assertProblem(await upload(m.maker, huge), 413, 'PAYLOAD_TOO_LARGE');
  });
});
