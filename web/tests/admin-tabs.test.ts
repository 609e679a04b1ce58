import { describe, expect, it } from 'vitest'
import { chooseTab, mayOpenAdmin, tabsFor, TAB_ORDER } from '@/pages/admin/tabs'

describe('which administration tabs a role sees', () => {
  it('an admin sees every tab and may change each', () => {
    const tabs = tabsFor(['admin'])
    expect(tabs.map((t) => t.key)).toEqual(TAB_ORDER)
    expect(tabs.every((t) => t.write)).toBe(true)
  })

  it.each([
    [['sales_manager'], [['webhooks', true], ['templates', false], ['reminders', false]]],
    [['service_supervisor'], [['webhooks', true], ['templates', false], ['sla', true]]],
    [['sales_manager', 'service_supervisor'], [['webhooks', true], ['templates', false], ['reminders', false], ['sla', true]]],
    [['sales_rep'], []],
    [['service_agent'], []],
    [['viewer'], []],
    [[], []],
  ] as const)('%o sees %o', (roles, expected) => {
    expect(tabsFor(roles).map((t) => [t.key, t.write])).toEqual(expected)
    expect(mayOpenAdmin(roles)).toBe(expected.length > 0)
  })

  it.each([
    ['audit', ['admin'], 'audit'],
    [undefined, ['admin'], 'users'],
    ['nonsense', ['admin'], 'users'],
    ['users', ['sales_manager'], 'webhooks'],
    ['sla', ['service_supervisor'], 'sla'],
    ['sla', ['sales_rep'], null],
  ] as const)('asked %s as %o gives %s', (asked, roles, expected) => {
    expect(chooseTab(asked, roles)).toBe(expected)
  })
})
