import { describe, expect, it } from 'vitest'
import { defaultScopes, ownerMax, SCOPE_GROUPS, scopeRows, scopesOf, toggle } from '@/pages/admin/scopes'

const group = (key: string) => SCOPE_GROUPS.find((g) => g.key === key)!

describe('API key scopes as read / write boxes', () => {
  it('reads chosen scopes back into levels and out again', () => {
    const scopes = ['customers:read', 'customers:write', 'tickets:read', 'webhooks:manage', 'meta:read']
    const rows = scopeRows(scopes, ['admin'])
    expect(rows.find((r) => r.key === 'customers')!.level).toBe('write')
    expect(rows.find((r) => r.key === 'tickets')!.level).toBe('read')
    expect(rows.find((r) => r.key === 'webhooks')!.level).toBe('write')
    expect(rows.find((r) => r.key === 'kb')!.level).toBe('none')
    expect(scopesOf(rows).sort()).toEqual([...scopes].sort())
  })

  it('write alone still sends read with it; manage is one scope', () => {
    const rows = scopeRows(['opportunities:write'], ['admin'])
    expect(scopesOf(rows)).toEqual(['opportunities:read', 'opportunities:write'])
  })

  it.each([
    ['none', 'write', true, 'write'],
    ['read', 'write', true, 'write'],
    ['write', 'write', false, 'read'],
    ['none', 'write', false, 'none'],
    ['none', 'read', true, 'read'],
    ['write', 'read', true, 'write'],
    ['write', 'read', false, 'none'],
    ['read', 'read', false, 'none'],
  ] as const)('level %s, %s box set to %s: %s', (level, box, checked, expected) => {
    const row = { key: 'customers', level, manage: false, readOnly: false, ownerMax: 'write' as const }
    expect(toggle(row, box, checked)).toBe(expected)
  })

  it.each([
    ['customers', ['sales_rep'], 'write'],
    ['customers', ['service_agent'], 'read'],
    ['opportunities', ['service_agent'], 'none'],
    ['admin', ['sales_manager'], 'none'],
    ['admin', ['admin'], 'write'],
    ['meta', ['viewer'], 'read'],
    ['meta', ['admin'], 'read'],
    ['webhooks', ['sales_rep'], 'none'],
  ] as const)('%s for %o at most %s', (key, roles, expected) => {
    expect(ownerMax(group(key), roles)).toBe(expected)
  })

  it('a new key for a service agent reads what the agent may read', () => {
    const scopes = defaultScopes(['service_agent'])
    expect(scopes).toContain('tickets:read')
    expect(scopes).toContain('customers:read')
    expect(scopes).not.toContain('opportunities:read')
    expect(scopes).not.toContain('webhooks:manage')
    expect(scopes.some((s) => s.endsWith(':write'))).toBe(false)
  })
})
