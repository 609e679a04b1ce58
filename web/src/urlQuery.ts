// Why: lists keep their filters, sort and page in the URL (a bookmark, reload, back and
// forward); every area reads a query value the same way and never trusts it: a key given
// twice, missing, empty, a page that is not a number or a day that is not a date.
import type { LocationQuery } from 'vue-router'

type Raw = LocationQuery[string] | undefined

const DAY = /^\d{4}-\d{2}-\d{2}$/
const LAST_PAGE = 100_000 // the most the services page to

/** Every non-empty value of a (possibly repeated) key. */
export function queryValues(raw: Raw): string[] {
  if (raw === undefined || raw === null) return []
  const list = Array.isArray(raw) ? raw : [raw]
  return list.filter((v): v is string => typeof v === 'string' && v !== '')
}

/** The first value, or ''. */
export function queryText(raw: Raw): string {
  return queryValues(raw)[0] ?? ''
}

/** The value when it is one of `allowed`, else ''. */
export function queryOneOf<T extends string>(raw: Raw, allowed: readonly T[]): T | '' {
  const value = queryText(raw)
  return (allowed as readonly string[]).includes(value) ? (value as T) : ''
}

/** A day as YYYY-MM-DD, else ''. */
export function queryDay(raw: Raw): string {
  const value = queryText(raw)
  return DAY.test(value) ? value : ''
}

/** A page number from 1 to the last the services serve; anything else is page 1. */
export function queryPage(raw: Raw): number {
  const page = Number.parseInt(queryText(raw), 10)
  return Number.isFinite(page) && page >= 1 && page <= LAST_PAGE ? page : 1
}
