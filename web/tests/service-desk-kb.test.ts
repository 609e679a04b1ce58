import { describe, expect, it } from 'vitest'
import { kbApiQuery, kbQuery, kbSearchFromQuery } from '@/pages/service-desk/kbSearch'

describe('a knowledge-base search in the URL', () => {
  it.each([
    ['empty', {}, true, { q: '', tag: '', status: '', page: 1 }],
    ['a writer filters by status', { q: ' VPN ', status: 'draft', page: '2' }, true, { q: 'VPN', tag: '', status: 'draft', page: 2 }],
    ['a reader cannot', { status: 'draft' }, false, { q: '', tag: '', status: '', page: 1 }],
    ['junk', { status: 'gone', page: 'x' }, true, { q: '', tag: '', status: '', page: 1 }],
  ] as const)('%s', (_, query, writer, expected) => {
    expect(kbSearchFromQuery(query, writer)).toEqual(expected)
  })

  it('keeps only what is set', () => {
    expect(kbQuery({ q: '卡纸', tag: '', status: '', page: 1 })).toEqual({ q: '卡纸' })
  })

  it('sends at most five words and a case-folded tag', () => {
    expect(kbApiQuery({ q: 'a b  c d e f', tag: 'VPN', status: 'published', page: 3 }, 50)).toEqual({
      q: 'a b c d e',
      tag: 'vpn',
      status: 'published',
      page: 3,
      page_size: 50,
    })
  })
})
