import type { FastifyRequest } from 'fastify';
import { queryField } from '../context.tsx';
import type { PageQuery } from '../ports.ts';

export const PAGE_SIZE = 20;

/** `?after=` is the cursor (the last row's id on the previous page). */
export function pageQuery(request: FastifyRequest, param = 'after'): PageQuery {
  const after = queryField(request.query, param);
  return { limit: PAGE_SIZE, ...(after ? { startingAfter: after } : {}) };
}

/** The link to the next page; `keep` carries filters (e.g. status) along with the cursor. */
export function NextPageLink(props: { path: string; param?: string; hasMore: boolean; lastId: string | undefined; label?: string; keep?: Record<string, string | undefined> }) {
  if (!props.hasMore || props.lastId === undefined) return null;
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(props.keep ?? {})) if (value) query.set(name, value);
  query.set(props.param ?? 'after', props.lastId);
  return (
    <p class="pager">
      <a href={`${props.path}?${query}`}>{props.label ?? 'Older'}</a>
    </p>
  );
}
