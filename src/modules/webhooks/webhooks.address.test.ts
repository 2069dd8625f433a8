import assert from 'node:assert/strict';
import { test } from 'node:test';
import { internalLiteralOf, isInternalAddress, refusingInternal } from './webhooks.address.ts';

test('loopback, private, link-local (cloud metadata), CGNAT and their IPv6 forms are internal; public addresses are not', () => {
  for (const address of ['127.0.0.1', '10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '::1', '::', 'fd00::1', 'fe80::1', '::ffff:127.0.0.1', '::ffff:10.0.0.1']) {
    assert.equal(isInternalAddress(address), true, address);
  }
  for (const address of ['8.8.8.8', '172.32.0.1', '192.169.0.1', '100.128.0.1', '2001:4860:4860::8888', '::ffff:8.8.8.8']) {
    assert.equal(isInternalAddress(address), false, address);
  }
  assert.equal(isInternalAddress('not an address'), true, 'anything unparsable is refused');
});

test('an address in the URL is judged by itself; a name is left to the connection', () => {
  assert.match(internalLiteralOf('http://[::1]:8080/x')!, /::1 is an internal address/);
  assert.match(internalLiteralOf('http://169.254.169.254/latest/meta-data')!, /169\.254\.169\.254/);
  assert.equal(internalLiteralOf('https://93.184.216.34/coffer'), undefined);
  assert.equal(internalLiteralOf('https://hooks.example.com/coffer'), undefined);
});

test("the connection's lookup refuses a name with any internal address, and answers the public ones as node:net asks", async () => {
  const resolvesTo = (...addresses: string[]) => async () => addresses.map((address) => ({ address }));
  const ask = (lookup: ReturnType<typeof refusingInternal>, options: { all?: boolean; family?: number }) =>
    new Promise<{ err: NodeJS.ErrnoException | null; address: unknown; family?: number }>((resolve) =>
      lookup('hooks.example.com', options, (err, address, family) => resolve({ err, address, family })),
    );
  const mixed = await ask(refusingInternal(resolvesTo('93.184.216.34', '10.0.0.5')), { all: true });
  assert.equal(mixed.err?.code, 'EINTERNALADDRESS');
  assert.match(mixed.err!.message, /hooks\.example\.com resolves to 10\.0\.0\.5, an internal address/);
  const publicOnly = refusingInternal(resolvesTo('2606:2800:220:1::1', '93.184.216.34'));
  assert.deepEqual((await ask(publicOnly, { all: true })).address, [
    { address: '2606:2800:220:1::1', family: 6 },
    { address: '93.184.216.34', family: 4 },
  ]);
  assert.deepEqual(await ask(publicOnly, { family: 4 }), { err: null, address: '93.184.216.34', family: 4 });
  assert.equal((await ask(refusingInternal(resolvesTo('2606:2800:220:1::1')), { family: 4 })).err?.code, 'ENOTFOUND');
});
