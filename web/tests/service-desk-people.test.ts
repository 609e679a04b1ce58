import { describe, expect, it } from 'vitest'
import { ASSIGN_REASONS } from '@/pages/service-desk/logReasons'
import { personName } from '@/pages/service-desk/people'
import messages from '@/pages/service-desk/messages'

describe('people named on a ticket', () => {
  const names = { 'u-1': '赵客服', customer: '客户' }
  it.each([
    ['u-1', '赵客服'],
    ['customer', '客户'],
    [null, '—'],
    ['short-id', 'short-id'],
    ['dce7ecb8-1111-2222-3333-444455556666', '用户 dce7ecb8'],
  ])('%s → %s', (id, shown) => {
    expect(personName(id, names, '用户')).toBe(shown)
  })
})

describe("the service's assignment reasons", () => {
  it.each(Object.values(ASSIGN_REASONS))('%s has words in both languages', (key) => {
    const zh = messages['zh-CN'].serviceDesk.log.reasons as Record<string, string>
    const en = messages.en.serviceDesk.log.reasons as Record<string, string>
    expect(zh[key]).toBeTruthy()
    expect(en[key]).toBeTruthy()
  })
})
