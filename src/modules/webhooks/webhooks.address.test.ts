import assert from 'node:assert/strict';
import { test } from 'node:test';
import { internalTargetOf, isInternalAddress } from './webhooks.address.ts';

test('loopback, private, link-local (cloud metadata), CGNAT and their IPv6 forms are internal; public addresses are not', () => {
  for (const address of ['127.0.0.1', '10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '::1', '::', 'fd00::1', 'fe80::1', '::ffff:127.0.0.1', '::ffff:10.0.0.1']) {
    assert.equal(isInternalAddress(address), true, address);
  }
  for (const address of ['8.8.8.8', '172.32.0.1', '192.169.0.1', '100.128.0.1', '2001:4860:4860::8888', '::ffff:8.8.8.8']) {
    assert.equal(isInternalAddress(address), false, address);
  }
  assert.equal(isInternalAddress('not an address'), true, 'anything unparsable is refused');
});

test('a name is judged by every address it resolves to; an address in the URL by itself', async () => {
  const resolvesTo = (...addresses: string[]) => async () => addresses.map((address) => ({ address }));
  assert.equal(await internalTargetOf('https://hooks.example.com/coffer', resolvesTo('93.184.216.34')), undefined);
  assert.match((await internalTargetOf('https://hooks.example.com/x', resolvesTo('93.184.216.34', '10.0.0.5')))!, /10\.0\.0\.5, an internal address/);
  assert.match((await internalTargetOf('http://[::1]:8080/x', resolvesTo()))!, /::1/);
  assert.match((await internalTargetOf('http://169.254.169.254/latest/meta-data', resolvesTo()))!, /169\.254\.169\.254/);
});
