import { walletsOf, type WebContext } from '../context.tsx';
import { moneyFormPage } from './money-form.tsx';

/** /ui/withdraw: pay out to the bound debit card (the amount and fee are held until the bank answers). */
export function withdrawPage(ctx: WebContext): void {
  moneyFormPage(ctx, {
    path: '/ui/withdraw',
    title: 'Withdraw',
    verb: 'Withdraw',
    explain: 'Move money from your wallet to your bound debit card. A withdrawal fee applies; you confirm it at your bank.',
    start: (session, amount, callbackUrl) => walletsOf(ctx).withdraw(session, amount, callbackUrl),
  });
}
