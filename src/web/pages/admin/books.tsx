import { Time } from '../../components.tsx';
import { type WebContext } from '../../context.tsx';

interface AlertView {
  id: string;
  source: string;
  key: string;
  message: string;
  firstSeenAt: string;
  lastSeenAt: string;
  occurrences: number;
  resolvedAt: string | null;
}

interface InvariantReport {
  ok: boolean;
  checkedAt: string;
  checks: { name: string; description: string; ok: boolean }[];
}

interface ChainReport {
  ok: boolean;
  accounts: number;
  entries: number;
  breaks: number;
  firstBreak: { accountId: string; seq: string; reason: string } | null;
}

function Badge({ ok, yes, no }: { ok: boolean; yes: string; no: string }) {
  return <span class={`badge ${ok ? 'badge-ok' : 'badge-bad'}`}>{ok ? yes : no}</span>;
}

/**
 * The books (SPEC 2, 10): every ledger invariant and the journal's hash chains,
 * checked now, and the admin alerts the ledger monitor (and any other source)
 * raised, open first.
 */
export function adminBooksPage(ctx: WebContext): void {
  ctx.app.get('/ui/admin/books', { preHandler: ctx.requireAdminOperator }, async (request, reply) => {
    const api = ctx.adminApi(request);
    const [invariants, chain, alerts] = await Promise.all([
      api.get<InvariantReport>('/admin/ledger/invariants'),
      api.get<ChainReport>('/admin/ledger/chain'),
      api.get<{ data: AlertView[] }>('/admin/alerts'),
    ]);
    const open = alerts.data.filter((a) => !a.resolvedAt);
    return ctx.render(request, reply, {
      title: 'Books and alerts',
      current: '/ui/admin/books',
      children: (
        <>
          <h2>Alerts</h2>
          {open.length === 0 ? <p class="card" data-testid="alerts-none">No open alerts.</p> : null}
          {alerts.data.length > 0 ? (
            <table data-testid="alerts">
              <thead>
                <tr>
                  <th>State</th>
                  <th>Source</th>
                  <th>What</th>
                  <th>Seen</th>
                  <th>Times</th>
                </tr>
              </thead>
              <tbody>
                {alerts.data.map((alert) => (
                  <tr>
                    <td>
                      <Badge ok={alert.resolvedAt !== null} yes="resolved" no="OPEN" />
                    </td>
                    <td>{alert.source}</td>
                    <td>{alert.message}</td>
                    <td>
                      <Time iso={alert.firstSeenAt} /> – <Time iso={alert.lastSeenAt} />
                    </td>
                    <td>{alert.occurrences}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : null}
          <h2>Ledger invariants</h2>
          <table data-testid="invariants">
            <tbody>
              {invariants.checks.map((check) => (
                <tr>
                  <td>
                    <Badge ok={check.ok} yes="holds" no="BROKEN" />
                  </td>
                  <td>{check.description}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <h2>Journal hash chains</h2>
          <p class="card" data-testid="chain">
            <Badge ok={chain.ok} yes="intact" no="BROKEN" /> {chain.entries} entries in {chain.accounts} account chains
            {chain.firstBreak
              ? `; first broken link: account ${chain.firstBreak.accountId}, entry ${chain.firstBreak.seq} (${chain.firstBreak.reason}), ${chain.breaks} in all`
              : ''}
            .
          </p>
          <p class="muted">
            Checked <Time iso={invariants.checkedAt} />. The monitor job checks the same every LEDGER_MONITOR_INTERVAL_S and raises the alerts above.
          </p>
        </>
      ),
    });
  });
}
