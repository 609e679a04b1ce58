// Why: a knowledge-base search kept in the URL and turned into the API's query (at most five
// words count, so more are not sent; a status filter only for those who write).
import type { LocationQuery } from 'vue-router'
import { queryOneOf, queryPage, queryText } from '@/urlQuery'
import { KB_STATUSES, type KbStatus } from './types'

export interface KbSearch {
  q: string
  tag: string
  status: KbStatus | ''
  page: number
}

export function kbSearchFromQuery(query: LocationQuery, writer: boolean): KbSearch {
  return {
    q: queryText(query.q).trim(),
    tag: queryText(query.tag).trim(),
    status: writer ? queryOneOf(query.status, KB_STATUSES) : '',
    page: queryPage(query.page),
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
