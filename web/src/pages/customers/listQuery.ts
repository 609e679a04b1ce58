// Why: the customer list's filters, sort and page live in the URL, so a filtered list is a
// bookmark, a reload keeps it and back/forward walk through it. This maps the URL's query to
// the filters, and the filters to the URL and to GET /api/v1/customers's parameters
// (services/customers/src/crm_customers/api/customer_filter.py).
import type { LocationQuery, LocationQueryRaw } from 'vue-router'
import { queryDay, queryPage, queryText, queryValues } from '@/urlQuery'
import type { Query } from '@/api/client'

export const PAGE_SIZE = 50

export const SORTS = ['-created_at', 'created_at', '-updated_at', 'updated_at', 'name', '-name', 'code', '-code'] as const
export type Sort = (typeof SORTS)[number]
export const DEFAULT_SORT: Sort = '-created_at'

const LIFECYCLES = ['prospect', 'intent', 'won', 'lost']
const GRADES = ['A', 'B', 'C']
const ACTIVITY = ['active', 'dormant', 'churned']
const REVIEW = ['pending', 'approved', 'rejected']

export interface ListFilters {
  q: string
  lifecycle: string[]
  grade: string[]
  industry: string[]
  tag: string[]
  activity_status: string[]
  review_status: string[]
  owner_id: string
  /** YYYY-MM-DD, the first day (in the reader's zone) */
  created_from: string
  /** YYYY-MM-DD, the last day included */
  created_to: string
  archived: boolean
  sort: Sort
  page: number
}

export function emptyFilters(): ListFilters {
  return {
    q: '',
    lifecycle: [],
    grade: [],
    industry: [],
    tag: [],
    activity_status: [],
    review_status: [],
    owner_id: '',
    created_from: '',
    created_to: '',
    archived: false,
    sort: DEFAULT_SORT,
    page: 1,
  }
}

function allowed(list: string[], known: string[]): string[] {
  return [...new Set(list.filter((v) => known.includes(v)))]
}

/** The URL's query as filters; unknown or malformed values are dropped, never sent on. */
export function fromQuery(query: LocationQuery): ListFilters {
  const sort = queryText(query.sort)
  return {
    q: queryText(query.q).trim().slice(0, 100),
    lifecycle: allowed(queryValues(query.lifecycle), LIFECYCLES),
    grade: allowed(queryValues(query.grade), GRADES),
    industry: [...new Set(queryValues(query.industry))],
    tag: [...new Set(queryValues(query.tag))],
    activity_status: allowed(queryValues(query.activity_status), ACTIVITY),
    review_status: allowed(queryValues(query.review_status), REVIEW),
    owner_id: queryText(query.owner_id).slice(0, 64),
    created_from: queryDay(query.created_from),
    created_to: queryDay(query.created_to),
    archived: queryText(query.archived) === 'true',
    sort: (SORTS as readonly string[]).includes(sort) ? (sort as Sort) : DEFAULT_SORT,
    page: queryPage(query.page),
  }
}

/** The filters as the URL's query: only what differs from the defaults, so URLs stay short. */
export function toQuery(filters: ListFilters): LocationQueryRaw {
  const out: LocationQueryRaw = {}
  if (filters.q.trim()) out.q = filters.q.trim()
  for (const key of ['lifecycle', 'grade', 'industry', 'tag', 'activity_status', 'review_status'] as const) {
    if (filters[key].length) out[key] = [...filters[key]]
  }
  if (filters.owner_id) out.owner_id = filters.owner_id
  if (filters.created_from) out.created_from = filters.created_from
  if (filters.created_to) out.created_to = filters.created_to
  if (filters.archived) out.archived = 'true'
  if (filters.sort !== DEFAULT_SORT) out.sort = filters.sort
  if (filters.page > 1) out.page = String(filters.page)
  return out
}

/** A local day's start as an instant with offset (what created_from/created_to take). */
export function dayStart(day: string): string {
  return new Date(`${day}T00:00:00`).toISOString()
}

function nextDay(day: string): string {
  const d = new Date(`${day}T00:00:00`)
  d.setDate(d.getDate() + 1)
  return d.toISOString()
}

/** The filters as GET /api/v1/customers (and its export) parameters. The last day is whole. */
export function toApiQuery(filters: ListFilters, paged = true): Query {
  const query: Query = {
    q: filters.q.trim() || undefined,
    lifecycle: filters.lifecycle,
    grade: filters.grade,
    industry: filters.industry,
    tag: filters.tag,
    activity_status: filters.activity_status,
    review_status: filters.review_status,
    owner_id: filters.owner_id || undefined,
    created_from: filters.created_from ? dayStart(filters.created_from) : undefined,
    created_to: filters.created_to ? nextDay(filters.created_to) : undefined,
    archived: filters.archived ? 'true' : undefined,
    sort: filters.sort,
  }
  if (paged) {
    query.page = filters.page
    query.page_size = PAGE_SIZE
  }
  for (const [key, value] of Object.entries(query)) if (Array.isArray(value) && !value.length) delete query[key]
  return query
}

/** A changed filter starts again at page 1; a changed page keeps the filters. */
export function withFilter<K extends keyof ListFilters>(filters: ListFilters, key: K, value: ListFilters[K]): ListFilters {
  return { ...filters, [key]: value, page: key === 'page' ? (value as number) : 1 }
}

/** el-table's sort-change as our sort (a column's prop and ascending/descending/null). */
export function sortFrom(prop: string | null, order: 'ascending' | 'descending' | null): Sort {
  const key = prop === 'created_at' || prop === 'updated_at' || prop === 'name' || prop === 'code' ? prop : null
  if (!key || !order) return DEFAULT_SORT
  return (order === 'descending' ? `-${key}` : key) as Sort
}

/** Our sort as el-table's default-sort. */
export function tableSort(sort: Sort): { prop: string; order: 'ascending' | 'descending' } {
  return sort.startsWith('-') ? { prop: sort.slice(1), order: 'descending' } : { prop: sort, order: 'ascending' }
}

/** How many filters (besides the quick search, sort and page) are set: the badge on the button. */
export function activeFilterCount(filters: ListFilters): number {
  let n = 0
  for (const key of ['lifecycle', 'grade', 'industry', 'tag', 'activity_status', 'review_status'] as const) {
    if (filters[key].length) n++
  }
  if (filters.owner_id) n++
  if (filters.created_from || filters.created_to) n++
  if (filters.archived) n++
  return n
}
