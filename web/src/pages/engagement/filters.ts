// Why: list filters live in the URL (a filtered list can be bookmarked, shared and reloaded);
// these turn the route's query into a filter and the filter into an API query and back.

import type { LocationQuery } from 'vue-router'
import type { Query } from '@/api/client'

export const PAGE_SIZE = 50

export interface FollowUpFilter {
  customer_id: string
  method: string
  outcome: string
  occurred_from: string
  occurred_to: string
  scope: 'mine' | 'team'
  page: number
}

function text(value: LocationQuery[string]): string {
  const v = Array.isArray(value) ? value[0] : value
  return typeof v === 'string' ? v : ''
}

function pageOf(value: LocationQuery[string]): number {
  const n = Number.parseInt(text(value), 10)
  return Number.isFinite(n) && n >= 1 ? n : 1
}

const DAY = /^\d{4}-\d{2}-\d{2}$/

export function followUpFilterFrom(query: LocationQuery, defaultScope: 'mine' | 'team'): FollowUpFilter {
  const day = (v: LocationQuery[string]) => (DAY.test(text(v)) ? text(v) : '')
  const scope = text(query.scope)
  return {
    customer_id: text(query.customer_id),
    method: text(query.method),
    outcome: text(query.outcome),
    occurred_from: day(query.occurred_from),
    occurred_to: day(query.occurred_to),
    scope: scope === 'mine' || scope === 'team' ? scope : defaultScope,
    page: pageOf(query.page),
  }
}

/** The route query for a filter: empty values and page 1 left out. */
export function followUpFilterQuery(filter: FollowUpFilter): Record<string, string> {
  const out: Record<string, string> = {}
  for (const key of ['customer_id', 'method', 'outcome', 'occurred_from', 'occurred_to'] as const) {
    if (filter[key]) out[key] = filter[key]
  }
  out.scope = filter.scope
  if (filter.page > 1) out.page = String(filter.page)
  return out
}

/** GET /api/v1/follow-ups query: "mine" is the signed-in person as follower. */
export function followUpApiQuery(filter: FollowUpFilter, me: string): Query {
  return {
    customer_id: filter.customer_id || undefined,
    method: filter.method || undefined,
    outcome: filter.outcome || undefined,
    occurred_from: filter.occurred_from || undefined,
    occurred_to: filter.occurred_to || undefined,
    follower_id: filter.scope === 'mine' ? me : undefined,
    page: filter.page,
    page_size: PAGE_SIZE,
  }
}

export interface OpportunityFilter {
  stage: string
  customer_id: string
  close_from: string
  close_to: string
  open_only: boolean
  scope: 'mine' | 'team'
  page: number
}

export function opportunityFilterFrom(query: LocationQuery, defaultScope: 'mine' | 'team'): OpportunityFilter {
  const day = (v: LocationQuery[string]) => (DAY.test(text(v)) ? text(v) : '')
  const scope = text(query.scope)
  return {
    stage: text(query.stage),
    customer_id: text(query.customer_id),
    close_from: day(query.close_from),
    close_to: day(query.close_to),
    open_only: text(query.open_only) === 'true',
    scope: scope === 'mine' || scope === 'team' ? scope : defaultScope,
    page: pageOf(query.page),
  }
}

export function opportunityFilterQuery(filter: OpportunityFilter): Record<string, string> {
  const out: Record<string, string> = {}
  for (const key of ['stage', 'customer_id', 'close_from', 'close_to'] as const) if (filter[key]) out[key] = filter[key]
  if (filter.open_only) out.open_only = 'true'
  out.scope = filter.scope
  if (filter.page > 1) out.page = String(filter.page)
  return out
}

export function opportunityApiQuery(filter: OpportunityFilter, me: string): Query {
  return {
    stage: filter.stage || undefined,
    customer_id: filter.customer_id || undefined,
    close_from: filter.close_from || undefined,
    close_to: filter.close_to || undefined,
    open_only: filter.open_only || undefined,
    owner_id: filter.scope === 'mine' ? me : undefined,
    page: filter.page,
    page_size: PAGE_SIZE,
  }
}
