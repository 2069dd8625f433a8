import { Time } from '../../components.tsx';
import { type WebContext } from '../../context.tsx';

interface SinkMessage {
  id: string;
  purpose: string | null;
  mobile: string;
  text: string;
  createdAt: string;
}

/**
 * The SMS development sink (SPEC 6): the newest message to each mobile (its
 * code is in the text), then every recent message. Only in sandbox mode does
 * the sink keep anything.
 */
export function adminSmsPage(ctx: WebContext): void {
  ctx.app.get('/ui/admin/sms', { preHandler: ctx.requireAdminOperator }, async (request, reply) => {
    const page = await ctx.adminApi(request).get<{ data: SinkMessage[]; hasMore: boolean }>('/admin/sms/messages?limit=200');
    const latest = new Map<string, SinkMessage>();
    for (const message of page.data) if (!latest.has(message.mobile)) latest.set(message.mobile, message); // newest first
    return ctx.render(request, reply, {
      title: 'SMS sink',
      current: '/ui/admin/sms',
      children:
        latest.size === 0 ? (
          <p class="card muted">No messages. (The sink keeps messages in sandbox mode only.)</p>
        ) : (
          <>
            <h2>Latest code per mobile</h2>
            <table data-testid="sms-latest">
              <thead>
                <tr>
                  <th>Mobile</th>
                  <th>Message</th>
                  <th>Purpose</th>
                  <th>Sent</th>
                </tr>
              </thead>
              <tbody>
                {[...latest.values()].map((m) => (
                  <tr>
                    <td>{m.mobile}</td>
                    <td>{m.text}</td>
                    <td>{m.purpose ?? ''}</td>
                    <td>
                      <Time iso={m.createdAt} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            <p class="muted">{page.data.length} recent messages in the sink{page.hasMore ? ' (older ones not shown)' : ''}.</p>
          </>
        ),
    });
  });
}
