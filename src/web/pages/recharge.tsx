import { walletsOf, type WebContext } from '../context.tsx';
import { moneyFormPage } from './money-form.tsx';

/** /ui/recharge: top up the wallet from the bound debit card. */
export function rechargePage(ctx: WebContext): void {
  moneyFormPage(ctx, {
    path: '/ui/recharge',
    title: 'Recharge',
    verb: 'Recharge',
    explain: 'Move money from your bank card into your Coffer wallet. You confirm it at your bank.',
    start: async (session, amount, callbackUrl) => ({ kind: 'gateway', gateway: await walletsOf(ctx).recharge(session, amount, callbackUrl) }),
  });
}
