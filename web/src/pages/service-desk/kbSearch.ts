// Why: a knowledge-base search kept in the URL and turned into the API's query (at most five
// words count, so more are not sent; a status filter only for those who write).
import type { LocationQuery } from 'vue-router'
import { KB_STATUSES, type KbStatus } from './types'

export interface KbSearch {
  q: string
  tag: string
  status: KbStatus | ''
  page: number
}

function one(value: LocationQuery[string]): string {
  return ((Array.isArray(value) ? value[0] : value) ?? '').trim()
}

export function kbSearchFromQuery(query: LocationQuery, writer: boolean): KbSearch {
  const status = one(query.status)
  const page = Number.parseInt(one(query.page), 10)
  return {
    q: one(query.q),
    tag: one(query.tag),
    status: writer && (KB_STATUSES as string[]).includes(status) ? (status as KbStatus) : '',
    page: Number.isFinite(page) && page > 1 ? page : 1,
  }
}

export function kbQuery(search: KbSearch): Record<string, string> {
  const out: Record<string, string> = {}
  if (search.q) out.q = search.q
  if (search.tag) out.tag = search.tag
  if (search.status) out.status = search.status
  if (search.page > 1) out.page = String(search.page)
  return out
}

export function kbApiQuery(search: KbSearch, pageSize: number): Record<string, string | number> {
  const words = search.q.split(/\s+/).filter(Boolean).slice(0, 5).join(' ')
  const out: Record<string, string | number> = { page: search.page, page_size: pageSize }
  if (words) out.q = words.slice(0, 200)
  if (search.tag) out.tag = search.tag.toLowerCase()
  if (search.status) out.status = search.status
  return out
}
