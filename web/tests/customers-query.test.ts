import { describe, expect, it } from 'vitest'
import {
  DEFAULT_SORT,
  activeFilterCount,
  emptyFilters,
  fromQuery,
  sortFrom,
  tableSort,
  toApiQuery,
  toQuery,
  withFilter,
  type ListFilters,
} from '@/pages/customers/listQuery'

describe('customer list filters ↔ URL query', () => {
  it('an empty query is the default list', () => {
    expect(fromQuery({})).toEqual(emptyFilters())
    expect(toQuery(emptyFilters())).toEqual({})
  })

  it.each<[string, Record<string, string | string[]>, Partial<ListFilters>]>([
    ['one value of a repeatable filter', { lifecycle: 'intent' }, { lifecycle: ['intent'] }],
    ['several values', { lifecycle: ['intent', 'won'], grade: ['A', 'B'] }, { lifecycle: ['intent', 'won'], grade: ['A', 'B'] }],
    ['unknown codes are dropped', { lifecycle: ['intent', 'bogus'], grade: 'Z' }, { lifecycle: ['intent'], grade: [] }],
    ['repeated values once', { tag: ['高预算', '高预算'] }, { tag: ['高预算'] }],
    ['a quick search is trimmed', { q: '  星辰 ' }, { q: '星辰' }],
    ['a bad page is page 1', { page: 'x' }, { page: 1 }],
    ['a negative page is page 1', { page: '-3' }, { page: 1 }],
    ['a page', { page: '3' }, { page: 3 }],
    ['an unknown sort is the default', { sort: 'owner' }, { sort: DEFAULT_SORT }],
    ['a known sort', { sort: '-name' }, { sort: '-name' }],
    ['archived only with "true"', { archived: 'yes' }, { archived: false }],
    ['archived', { archived: 'true' }, { archived: true }],
    ['a malformed day is dropped', { created_from: '2026-13', created_to: '2026-11-30' }, { created_from: '', created_to: '2026-11-30' }],
  ])('%s', (_name, query, expected) => {
    expect(fromQuery(query)).toMatchObject(expected)
  })

  it('round-trips every filter through the URL (a bookmark gives the same list)', () => {
    const filters: ListFilters = {
      q: 'ABC2026',
      lifecycle: ['prospect', 'intent'],
      grade: ['A'],
      industry: ['manufacturing'],
      tag: ['高预算', '决策周期短'],
      activity_status: ['active'],
      review_status: ['pending'],
      owner_id: 'u-1',
      created_from: '2026-11-01',
      created_to: '2026-11-30',
      archived: true,
      sort: 'name',
      page: 4,
    }
    const query = toQuery(filters)
    expect(fromQuery(query as Record<string, string | string[]>)).toEqual(filters)
  })

  it('leaves defaults out of the URL', () => {
    expect(toQuery({ ...emptyFilters(), grade: ['B'] })).toEqual({ grade: ['B'] })
    expect(toQuery({ ...emptyFilters(), page: 1, sort: DEFAULT_SORT, q: '  ' })).toEqual({})
  })

  it('a changed filter goes back to page 1, a changed page keeps the filters', () => {
    const on3 = { ...emptyFilters(), page: 3, grade: ['A'] }
    expect(withFilter(on3, 'lifecycle', ['won'])).toMatchObject({ page: 1, grade: ['A'], lifecycle: ['won'] })
    expect(withFilter(on3, 'page', 5)).toMatchObject({ page: 5, grade: ['A'] })
  })

  it('asks the API for 50 a page, the filters it knows, and whole days', () => {
    const query = toApiQuery({ ...emptyFilters(), q: 'x', grade: ['A'], created_from: '2026-11-01', created_to: '2026-11-30', archived: true, page: 2 })
    expect(query).toMatchObject({ q: 'x', grade: ['A'], archived: 'true', page: 2, page_size: 50, sort: '-created_at' })
    expect(query).not.toHaveProperty('lifecycle')
    // The last day is included: the bound is the next day's start.
    const from = new Date(query.created_from as string).getTime()
    const to = new Date(query.created_to as string).getTime()
    expect((to - from) / 86_400_000).toBeCloseTo(30, 0)
  })

  it('the export takes the same filters without paging', () => {
    const query = toApiQuery({ ...emptyFilters(), tag: ['高预算'], page: 3 }, false)
    expect(query).toMatchObject({ tag: ['高预算'] })
    expect(query).not.toHaveProperty('page')
    expect(query).not.toHaveProperty('page_size')
  })

  it.each([
    ['name', 'ascending', 'name'],
    ['name', 'descending', '-name'],
    ['created_at', 'descending', '-created_at'],
    ['code', null, DEFAULT_SORT],
    ['owner_id', 'ascending', DEFAULT_SORT],
    [null, 'ascending', DEFAULT_SORT],
  ] as const)('table sort %s %s → %s', (prop, order, sort) => {
    expect(sortFrom(prop, order)).toBe(sort)
  })

  it('shows the sort on the table', () => {
    expect(tableSort('-updated_at')).toEqual({ prop: 'updated_at', order: 'descending' })
    expect(tableSort('code')).toEqual({ prop: 'code', order: 'ascending' })
  })

  it('counts the filters that are set', () => {
    expect(activeFilterCount(emptyFilters())).toBe(0)
    expect(activeFilterCount({ ...emptyFilters(), q: 'x', grade: ['A'], created_from: '2026-11-01', created_to: '2026-11-02', archived: true })).toBe(3)
  })
})
