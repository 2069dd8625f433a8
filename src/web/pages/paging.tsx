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

/** `?page=` of a page-numbered list (the products lists, SPEC 7), from 1. */
export function pageNumber(request: FastifyRequest): number {
  return Math.max(1, Number.parseInt(queryField(request.query, 'page') ?? '1', 10) || 1);
}

/** Previous and next links of a page-numbered list. */
export function PagePager(props: { path: string; page: number; size: number; total: number }) {
  const pages = Math.max(1, Math.ceil(props.total / props.size));
  if (pages === 1) return null;
  return (
    <p class="pager">
      {props.page > 1 ? <a href={`${props.path}?page=${props.page - 1}`}>Previous</a> : null} Page {props.page} of {pages}{' '}
      {props.page < pages ? <a href={`${props.path}?page=${props.page + 1}`}>Next</a> : null}
    </p>
  );
}
