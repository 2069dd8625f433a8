/**
 * The payments port over the payment core's contract API (SPEC 8: /my/payments,
 * /my/payment-cards, /my/coupons), in-process with the user's session as the
 * bearer token, like api-wallets.ts.
 */
import type { CofferApp } from '../platform/http/server.ts';
import { callApi, rowsOf, type ApiMethod, type Json } from './api-client.ts';
import type { UiCoupon, UiPayment, UiPaymentCard, WebPayments } from './ports.ts';

const paymentPath = (payOrderNo: string) => `/my/payments/${encodeURIComponent(payOrderNo)}`;

export function apiPaymentsPort(app: CofferApp): WebPayments {
  const call = (session: string, method: ApiMethod, url: string, body?: Json) => callApi(app, session, method, url, body);

  return {
    async payment(session, payOrderNo) {
      return (await call(session, 'GET', paymentPath(payOrderNo))) as UiPayment;
    },
    async cards(session) {
      return rowsOf(await call(session, 'GET', '/my/payment-cards')) as unknown as UiPaymentCard[];
    },
    async addCard(session, card) {
      return (await call(session, 'POST', '/my/payment-cards', { ...card })) as UiPaymentCard;
    },
    async removeCard(session, cardId) {
      await call(session, 'DELETE', `/my/payment-cards/${encodeURIComponent(cardId)}`);
    },
    async coupons(session, status) {
      return rowsOf(await call(session, 'GET', `/my/coupons${status ? `?${new URLSearchParams({ status })}` : ''}`)) as unknown as UiCoupon[];
    },
    async sendSms(session, payOrderNo, choice) {
      return (await call(session, 'POST', `${paymentPath(payOrderNo)}/sms`, { cardId: choice.cardId, ...(choice.couponId ? { couponId: choice.couponId } : {}) })) as UiPayment;
    },
    async confirm(session, payOrderNo, smsCode) {
      return (await call(session, 'POST', `${paymentPath(payOrderNo)}/confirm`, { smsCode })) as UiPayment;
    },
  };
}
