import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  type BankUnderTest,
  deliveredNotification,
  newCardNumber,
  type NotificationView,
  notificationsOf,
  openAccount,
  postForm,
  queryTransaction,
  registrationFields,
  sandbox,
  signedRequest,
  startInProcess,
  submit,
  uniqueNo,
  waitFor,
} from './support.ts';

// The default test schedule: BANK_NOTIFY_SCHEDULE_S=0,1,2,4 scaled by 0.05 -> 0, 50, 100, 200 ms.
const SCALED_DELAYS_MS = [0, 50, 100, 200];

async function finalNotification(bank: BankUnderTest, requestNo: string, state: 'DELIVERED' | 'DEAD'): Promise<NotificationView> {
  return waitFor(`notification of ${requestNo} ${state}`, async () => (await notificationsOf(bank, requestNo)).find((n) => n.state === state));
}

function gapsMs(n: NotificationView): number[] {
  const times = n.attempts.map((a) => Date.parse(a.at));
  return times.slice(1).map((t, i) => t - times[i]!);
}

describe('bank simulator: notifications', () => {
  let bank: BankUnderTest;
  before(async () => {
    bank = await startInProcess({ BANK_NOTIFY_TIMEOUT_MS: '1000' });
  });
  after(() => bank.close());

  it('retries on 500 and on a wrong body, with growing delays, until the body is OK', async () => {
    const userNo = uniqueNo('u');
    const answers = [
      { status: 500, body: 'boom' },
      { status: 200, body: 'ok?' },
      { status: 200, body: ' OK \n' },
    ];
    let seen = 0;
    bank.platform.respond = (n) => (n.result.userNo === userNo ? answers[Math.min(seen++, answers.length - 1)]! : { status: 200, body: 'OK' });
    const { requestNo } = await openAccount(bank, userNo);
    const n = await finalNotification(bank, requestNo, 'DELIVERED');
    assert.deepEqual(
      n.attempts.map((a) => [a.httpStatus, a.body]),
      [[500, 'boom'], [200, 'ok?'], [200, ' OK \n']],
    );
    const gaps = gapsMs(n);
    gaps.forEach((gap, i) => assert.ok(gap >= SCALED_DELAYS_MS[i + 1]! - 5, `gap ${i + 1} was ${gap} ms, scheduled ${SCALED_DELAYS_MS[i + 1]} ms`));
    assert.equal(bank.platform.for(requestNo).length, 3);
    assert.ok(bank.platform.for(requestNo).every((r) => r.signatureValid && r.platformNo === 'coffer-test'));
  });

  it('is DEAD after the last scheduled attempt and listed as a dead letter', async () => {
    const userNo = uniqueNo('u');
    bank.platform.respond = (n) => (n.result.userNo === userNo ? { status: 503, body: 'down' } : { status: 200, body: 'OK' });
    const { requestNo } = await openAccount(bank, userNo);
    const n = await finalNotification(bank, requestNo, 'DEAD');
    assert.equal(n.attempts.length, SCALED_DELAYS_MS.length);
    const dead = await sandbox<NotificationView[]>(bank, 'GET', '/sandbox/notifications?state=DEAD');
    assert.ok(dead.body.some((d) => d.id === n.id));
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await notificationsOf(bank, requestNo))[0]!.attempts.length, SCALED_DELAYS_MS.length, 'no attempt after DEAD');
    // a resend that gets OK recovers a dead letter
    bank.platform.respond = () => ({ status: 200, body: 'OK' });
    const resent = await sandbox<NotificationView>(bank, 'POST', `/sandbox/notifications/${n.id}/resend`);
    assert.equal(resent.status, 200);
    assert.equal((await notificationsOf(bank, requestNo))[0]!.state, 'DELIVERED');
  });

  it('failNextNotifications: the next N attempts are not sent and are recorded as failed', async () => {
    bank.platform.respond = () => ({ status: 200, body: 'OK' });
    const faults = await sandbox<{ failNextNotifications: number }>(bank, 'POST', '/sandbox/faults', { failNextNotifications: 2 });
    assert.equal(faults.body.failNextNotifications, 2);
    const { requestNo } = await openAccount(bank, uniqueNo('u'));
    const n = await finalNotification(bank, requestNo, 'DELIVERED');
    assert.deepEqual(n.attempts.map((a) => a.httpStatus), [null, null, 200]);
    assert.equal(bank.platform.for(requestNo).length, 1, 'the failed attempts never reached the platform');
    assert.equal((await sandbox<{ failNextNotifications: number }>(bank, 'GET', '/sandbox/faults')).body.failNextNotifications, 0);
  });

  it('duplicateNextNotifications: the next one is sent twice', async () => {
    await sandbox(bank, 'POST', '/sandbox/faults', { duplicateNextNotifications: 1 });
    const { requestNo } = await openAccount(bank, uniqueNo('u'));
    const n = await finalNotification(bank, requestNo, 'DELIVERED');
    await waitFor('two deliveries', () => bank.platform.for(requestNo).length === 2);
    assert.equal(n.attempts.length, 2);
    const [a, b] = bank.platform.for(requestNo);
    assert.equal(a!.reqData, b!.reqData);
  });

  it('holdNotifications: nothing is sent while held; the query settles it; release sends it', async () => {
    await sandbox(bank, 'POST', '/sandbox/faults', { holdNotifications: true });
    const { requestNo } = await openAccount(bank, uniqueNo('u'));
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(bank.platform.for(requestNo).length, 0);
    assert.deepEqual((await notificationsOf(bank, requestNo))[0]!.attempts, []);
    assert.equal((await queryTransaction(bank, requestNo)).data?.status, 'SUCCESS');
    const released = await sandbox<{ holdNotifications: boolean }>(bank, 'POST', '/sandbox/faults', { holdNotifications: false });
    assert.equal(released.body.holdNotifications, false);
    await deliveredNotification(bank, requestNo);
    await finalNotification(bank, requestNo, 'DELIVERED');
  });

  it('resend sends a delivered notification again, as a duplicate', async () => {
    const { requestNo } = await openAccount(bank, uniqueNo('u'));
    const n = await finalNotification(bank, requestNo, 'DELIVERED');
    const resent = await sandbox<NotificationView>(bank, 'POST', `/sandbox/notifications/${n.id}/resend`);
    assert.equal(resent.status, 200);
    assert.equal(resent.body.attempts.length, 2);
    assert.equal(bank.platform.for(requestNo).length, 2);
    assert.equal((await sandbox(bank, 'POST', '/sandbox/notifications/ntf_nope/resend')).status, 404);
  });

  it('reorderNextNotifications: the next N are delivered newest first', async () => {
    await sandbox(bank, 'POST', '/sandbox/faults', { reorderNextNotifications: 2 });
    const first = await openAccount(bank, uniqueNo('u'));
    const second = await openAccount(bank, uniqueNo('u'));
    await deliveredNotification(bank, first.requestNo);
    await deliveredNotification(bank, second.requestNo);
    const order = bank.platform.received.map((r) => r.result.requestNo).filter((no) => no === first.requestNo || no === second.requestNo);
    assert.deepEqual(order, [second.requestNo, first.requestNo]);
  });

  it('a platform that does not answer is cut off by the time-out and tried again', async () => {
    const userNo = uniqueNo('u');
    let calls = 0;
    bank.platform.respond = (n) => (n.result.userNo === userNo && calls++ === 0 ? 'hang' : { status: 200, body: 'OK' });
    const { requestNo } = await openAccount(bank, userNo);
    const n = await finalNotification(bank, requestNo, 'DELIVERED');
    assert.equal(n.attempts.length, 2);
    assert.equal(n.attempts[0]!.httpStatus, null);
    assert.match(n.attempts[0]!.body, /not delivered: .*(abort|timeout|time)/i);
    assert.ok(gapsMs(n)[0]! >= 1000 - 5, 'the first attempt waited for the time-out');
  });

  it('a platform that hangs on one notification does not hold up the others', async () => {
    const slowUser = uniqueNo('slow');
    bank.platform.respond = (n) => (n.result.userNo === slowUser ? 'hang' : { status: 200, body: 'OK' });
    await sandbox(bank, 'POST', '/sandbox/faults', { holdNotifications: true });
    const slow = await openAccount(bank, slowUser);
    const fast = await openAccount(bank, uniqueNo('fast'));
    await sandbox(bank, 'POST', '/sandbox/faults', { holdNotifications: false });
    const delivered = await deliveredNotification(bank, fast.requestNo);
    const slowFirst = await waitFor('the slow attempt', async () => (await notificationsOf(bank, slow.requestNo))[0]!.attempts[0]);
    assert.ok(delivered.at < Date.parse(slowFirst.at) + 1000, 'delivered while the other waited for its time-out');
    bank.platform.respond = () => ({ status: 200, body: 'OK' });
    await finalNotification(bank, slow.requestNo, 'DELIVERED');
  });

  it('an unreachable platform is recorded and dead-lettered after the last attempt', async () => {
    const userNo = uniqueNo('u');
    const requestNo = uniqueNo('reg');
    const form = signedRequest(bank, 'PERSONAL_REGISTER', { requestNo, userNo, notifyUrl: 'http://127.0.0.1:1/gateway' });
    const page = await postForm(`${bank.url}/gateway`, form);
    assert.equal((await submit(bank, page, registrationFields(newCardNumber()))).status, 303);
    const n = await finalNotification(bank, requestNo, 'DEAD');
    assert.equal(n.attempts.length, SCALED_DELAYS_MS.length);
    assert.ok(n.attempts.every((a) => a.httpStatus === null && a.body.startsWith('not delivered')));
  });

  it('refuses unknown faults and bad values', async () => {
    assert.equal((await sandbox(bank, 'POST', '/sandbox/faults', { failNextNotifications: -1 })).status, 400);
    assert.equal((await sandbox(bank, 'POST', '/sandbox/faults', { holdNotifications: 'yes' })).status, 400);
    assert.equal((await sandbox(bank, 'POST', '/sandbox/faults', { explode: true })).status, 400);
  });
});
