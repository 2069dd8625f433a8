import type { FastifyReply, FastifyRequest } from 'fastify';
import { DomainError } from '../../../platform/errors.ts';
import { rowsOf } from '../../api-client.ts';
import { Field, Money, PostForm, StatusBadge, Time } from '../../components.tsx';
import { formErrorsFrom, formField, formList, type FormErrors, type WebContext } from '../../context.tsx';
import { redirectTo } from '../../render.ts';

interface ChannelView {
  code: string;
  kind: string;
  provider: string;
  methods: string[];
  /** null (or empty): every bank. */
  banks: string[] | null;
  currencies: string[];
  minAmount: string;
  maxAmount: string;
  priority: number;
  weight: number;
  enabled: boolean;
  version: number;
  circuit: { state: 'CLOSED' | 'OPEN' | 'HALF_OPEN'; failures: number; openedAt?: string; retryAt?: string };
}

const METHODS = ['QUICK_PAY', 'DIRECT_DEBIT'];
/** A closed circuit is the healthy one (the channel takes payments); open means taken out for a while. */
const CIRCUIT_TONE = { CLOSED: 'ok', HALF_OPEN: 'wait', OPEN: 'bad' } as const;

/** "ICBC, CMB" -> ["ICBC", "CMB"]. */
function listOf(text: string): string[] {
  return text
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
}

/** A form number as a number when it is one, else as typed (the API then names the field). */
function numberOf(text: string): number | string {
  return /^-?\d{1,9}$/.test(text.trim()) ? Number(text.trim()) : text.trim();
}

function Circuit(props: { circuit: ChannelView['circuit'] }) {
  const c = props.circuit;
  return (
    <>
      <span class={`badge badge-${CIRCUIT_TONE[c.state]}`}>{c.state}</span>
      <div class="muted small">
        {c.failures} recent failures
        {c.openedAt ? (
          <>
            , open since <Time iso={c.openedAt} />
          </>
        ) : null}
        {c.retryAt ? (
          <>
            , retry at <Time iso={c.retryAt} />
          </>
        ) : null}
      </div>
    </>
  );
}

/**
 * The admin console's payment channels (SPEC 8), over the admin JSON API: each
 * channel's routing configuration and its circuit breaker's state, and an edit
 * form per channel that carries the version shown (a concurrent edit is a 409
 * message, never overwritten).
 */
export function adminChannelsPages(ctx: WebContext): void {
  const guard = { preHandler: ctx.requireAdminOperator };
  const codeOf = (request: FastifyRequest) => (request.params as { code: string }).code;

  async function channels(request: FastifyRequest): Promise<ChannelView[]> {
    return rowsOf(await ctx.adminApi(request).get<unknown>('/admin/channels')) as unknown as ChannelView[];
  }

  ctx.app.get('/ui/admin/channels', guard, async (request, reply) => {
    const list = await channels(request);
    return ctx.render(request, reply, {
      title: 'Payment channels',
      current: '/ui/admin/channels',
      children: (
        <table data-testid="channels">
          <thead>
            <tr>
              <th>Channel</th>
              <th>Methods</th>
              <th>Banks / currencies</th>
              <th class="num">Amounts</th>
              <th class="num">Priority / weight</th>
              <th>Enabled</th>
              <th>Circuit</th>
            </tr>
          </thead>
          <tbody>
            {list.map((c) => (
              <tr data-channel={c.code}>
                <td>
                  <a href={`/ui/admin/channels/${encodeURIComponent(c.code)}`}>{c.code}</a>
                  <div class="muted small">
                    {c.provider} · {c.kind} · v{c.version}
                  </div>
                </td>
                <td>{c.methods.join(', ')}</td>
                <td>
                  {c.banks?.join(', ') || 'any bank'}
                  <div class="muted small">{c.currencies.join(', ')}</div>
                </td>
                <td class="num">
                  <Money amount={c.minAmount} /> – <Money amount={c.maxAmount} />
                </td>
                <td class="num">
                  {c.priority} / {c.weight}
                </td>
                <td>{c.enabled ? <StatusBadge status="ACTIVE" /> : <StatusBadge status="DISABLED" />}</td>
                <td data-testid="circuit">
                  <Circuit circuit={c.circuit} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ),
    });
  });

  async function editPage(request: FastifyRequest, reply: FastifyReply, failed?: FormErrors) {
    const code = codeOf(request);
    const channel = (await channels(request)).find((c) => c.code === code);
    if (!channel) throw new DomainError('NOT_FOUND', `There is no channel ${code}.`);
    const f = failed?.fields ?? {};
    return ctx.render(request, reply, {
      status: failed?.status,
      error: failed?.message,
      title: `Channel: ${channel.code}`,
      current: '/ui/admin/channels',
      children: (
        <>
          <div class="card">
            {channel.provider} · {channel.kind} · version {channel.version} · circuit <Circuit circuit={channel.circuit} />
          </div>
          <div class="card">
            <PostForm action={`/ui/admin/channels/${encodeURIComponent(channel.code)}`} csrf={ctx.csrf(request, reply)}>
              <input type="hidden" name="version" value={String(channel.version)} />
              <fieldset class="field">
                <legend>Methods</legend>
                {METHODS.map((method) => (
                  <label>
                    <input type="checkbox" name="methods" value={method} checked={channel.methods.includes(method)} /> {method}
                  </label>
                ))}
              </fieldset>
              <div class="row">
                <Field name="banks" label="Banks (comma separated, empty: any)" value={channel.banks?.join(', ') ?? ''} error={f.banks} required={false} />
                <Field name="currencies" label="Currencies" value={channel.currencies.join(', ')} error={f.currencies} />
              </div>
              <div class="row">
                <Field name="minAmount" label="Minimum amount" inputmode="decimal" value={channel.minAmount} error={f.minAmount} />
                <Field name="maxAmount" label="Maximum amount" inputmode="decimal" value={channel.maxAmount} error={f.maxAmount} />
              </div>
              <div class="row">
                <Field name="priority" label="Priority" inputmode="numeric" value={String(channel.priority)} error={f.priority} />
                <Field name="weight" label="Weight" inputmode="numeric" value={String(channel.weight)} error={f.weight} />
              </div>
              <label class="check">
                <input type="checkbox" name="enabled" value="true" checked={channel.enabled} /> Enabled
              </label>
              <div class="actions">
                <button type="submit">Save channel</button>
                <a href="/ui/admin/channels">Cancel</a>
              </div>
            </PostForm>
          </div>
        </>
      ),
    });
  }

  ctx.app.get('/ui/admin/channels/:code', guard, (request, reply) => editPage(request, reply));

  ctx.app.post('/ui/admin/channels/:code', guard, async (request, reply) => {
    const field = (name: string) => formField(request.body, name);
    try {
      await ctx.adminApi(request).send('PUT', `/admin/channels/${encodeURIComponent(codeOf(request))}`, {
        methods: formList(request.body, 'methods'),
        banks: listOf(field('banks')).length > 0 ? listOf(field('banks')) : null,
        currencies: listOf(field('currencies')),
        minAmount: field('minAmount').trim(),
        maxAmount: field('maxAmount').trim(),
        priority: numberOf(field('priority')),
        weight: numberOf(field('weight')),
        enabled: field('enabled') === 'true',
        version: numberOf(field('version')),
      });
    } catch (error) {
      return editPage(request, reply, formErrorsFrom(error));
    }
    return redirectTo(reply, '/ui/admin/channels?notice=channel-saved');
  });
}
