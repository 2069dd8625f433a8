import { Money, PostForm, StatusBadge } from '../components.tsx';
import { formErrorsFrom, queryField, walletsOf, type WebContext } from '../context.tsx';
import type { UiWallet } from '../ports.ts';
import { redirectTo } from '../render.ts';
import { messageFor } from '../messages.ts';
import { currentSession, currentUser } from '../session.ts';
import { callbackUrl, renderGatewayPage } from './gateway.tsx';
import { accountsApi } from '../api-accounts.ts';
import { OpenWalletForm } from './accounts.tsx';

/** One row per currency; a row's currency link switches the wallet the actions below act on. */
function Balances(props: { wallets: UiWallet[]; selected: string }) {
  return (
    <table data-testid="wallets">
      <thead>
        <tr>
          <th>Account</th>
          <th>Currency</th>
          <th class="num">Balance</th>
          <th class="num">Available</th>
          <th class="num">Pending</th>
          <th>Status</th>
        </tr>
      </thead>
      <tbody>
        {props.wallets.map((w) => (
          <tr data-currency={w.currency} class={w.currency === props.selected ? 'selected' : undefined}>
            <td>{w.accountNo}</td>
            <td>
              <a href={`/ui/wallet?currency=${w.currency}`} aria-current={w.currency === props.selected ? 'true' : undefined}>
                {w.currency}
              </a>
            </td>
            <td class="num"><Money amount={w.balance} /></td>
            <td class="num"><Money amount={w.available} /></td>
            <td class="num"><Money amount={w.pending} /></td>
            <td><StatusBadge status={w.status} /></td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function OpenAccountPrompt(props: { csrf: string }) {
  return (
    <div class="card" data-testid="open-account">
      <p>
        To top up and withdraw, open your depository account: at your bank you confirm your name and ID, bind a debit
        card and set a transaction password that only the bank holds.
      </p>
      <PostForm action="/ui/wallet/open" csrf={props.csrf} boost={false}>
        <button type="submit">Open depository account</button>
      </PostForm>
    </div>
  );
}

/**
 * /ui/wallet: balances, or the prompt to open a depository account
 * (PERSONAL_REGISTER), whose POST hands the browser the bank form.
 */
export function walletPage(ctx: WebContext): void {
  const guarded = { preHandler: ctx.requireUiUser };

  ctx.app.get('/ui/wallet', guarded, async (request, reply) => {
    const [wallets, accounts] = await Promise.all([walletsOf(ctx).wallets(currentSession(request)), accountsApi(ctx.app, currentSession(request)).accounts()]);
    const frozen = currentUser(request).status === 'FROZEN';
    const asked = queryField(request.query, 'currency');
    const selected = wallets.find((w) => w.currency === asked) ?? wallets[0];
    const cardTopUps = accounts.some((a) => a.currency === selected?.currency && a.cardTopUps);
    const csrf = ctx.csrf(request, reply);
    return ctx.render(request, reply, {
      title: 'Wallet',
      current: '/ui/wallet',
      ...(frozen ? { error: messageFor('USER_FROZEN', undefined) } : {}),
      children:
        wallets.length > 0 ? (
          <>
            <Balances wallets={wallets} selected={selected?.currency ?? ''} />
            <p class="actions">
              {cardTopUps ? (
                <>
                  <a class="button" href={`/ui/card-recharge?currency=${selected?.currency ?? ''}`} data-testid="top-up">
                    Top up {selected?.currency} by card
                  </a>{' '}
                </>
              ) : null}
              <a class="button" href="/ui/recharge">Recharge</a> <a class="button" href="/ui/withdraw">Withdraw</a>{' '}
              <a href="/ui/orders">Orders</a>
            </p>
            <OpenWalletForm csrf={csrf} held={wallets.map((w) => w.currency)} />
          </>
        ) : (
          <OpenAccountPrompt csrf={csrf} />
        ),
    });
  });

  ctx.app.post('/ui/wallet/open', guarded, async (request, reply) => {
    try {
      const gateway = await walletsOf(ctx).openDepositoryAccount(
        currentSession(request),
        callbackUrl(request, '/ui/wallet?notice=bank-returned'),
      );
      return renderGatewayPage(ctx, request, reply, gateway, {
        title: 'Open your depository account',
        current: '/ui/wallet',
        summary: <p>Your bank will ask for your real name, ID number and a debit card in your name.</p>,
      });
    } catch (error) {
      const errors = formErrorsFrom(error);
      if (errors.code === 'ACCOUNT_ALREADY_OPENED') return redirectTo(reply, '/ui/wallet');
      return ctx.render(request, reply, {
        status: errors.status,
        title: 'Wallet',
        current: '/ui/wallet',
        error: errors.message,
        children: <OpenAccountPrompt csrf={ctx.csrf(request, reply)} />,
      });
    }
  });
}
