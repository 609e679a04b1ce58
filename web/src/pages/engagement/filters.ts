// Why: list filters live in the URL (a filtered list can be bookmarked, shared and reloaded);
// these turn the route's query into a filter and the filter into an API query and back.

import type { LocationQuery } from 'vue-router'
import type { Query } from '@/api/client'
import { queryDay, queryPage, queryText } from '@/urlQuery'

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

export function followUpFilterFrom(query: LocationQuery, defaultScope: 'mine' | 'team'): FollowUpFilter {
  const scope = queryText(query.scope)
  return {
    customer_id: queryText(query.customer_id),
    method: queryText(query.method),
    outcome: queryText(query.outcome),
    occurred_from: queryDay(query.occurred_from),
    occurred_to: queryDay(query.occurred_to),
    scope: scope === 'mine' || scope === 'team' ? scope : defaultScope,
    page: queryPage(query.page),
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
  const scope = queryText(query.scope)
  return {
    stage: queryText(query.stage),
    customer_id: queryText(query.customer_id),
    close_from: queryDay(query.close_from),
    close_to: queryDay(query.close_to),
    open_only: queryText(query.open_only) === 'true',
    scope: scope === 'mine' || scope === 'team' ? scope : defaultScope,
    page: queryPage(query.page),
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
