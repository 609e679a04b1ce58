import { describe, expect, it } from 'vitest'
import { queryDay, queryOneOf, queryPage, queryText, queryValues } from '@/urlQuery'

describe('reading a list filter from the URL', () => {
  it.each([
    [undefined, [], ''],
    [null, [], ''],
    ['won', ['won'], 'won'],
    [['won', 'intent'], ['won', 'intent'], 'won'],
    [['', null, 'lost'], ['lost'], 'lost'],
  ] as const)('%o → values %o, text %o', (raw, values, text) => {
    expect(queryValues(raw as never)).toEqual(values)
    expect(queryText(raw as never)).toBe(text)
  })

  it.each([
    [undefined, 1],
    ['3', 3],
    ['0', 1],
    ['-2', 1],
    ['abc', 1],
    ['100000', 100000],
    ['100001', 1],
    [['4', '9'], 4],
  ] as const)('page %o → %d', (raw, page) => {
    expect(queryPage(raw as never)).toBe(page)
  })

  it('keeps only known values and real days', () => {
    expect(queryOneOf('open', ['open', 'closed'] as const)).toBe('open')
    expect(queryOneOf('gone', ['open', 'closed'] as const)).toBe('')
    expect(queryDay('2026-11-30')).toBe('2026-11-30')
    expect(queryDay('30/11/2026')).toBe('')
  })
})
