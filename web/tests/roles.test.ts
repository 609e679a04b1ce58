import { describe, expect, it } from 'vitest'
import { canRead, canWrite, isManager } from '@/roles'

describe('what a role may see mirrors the gateway access matrix', () => {
  it.each([
    [['sales_rep'], 'opportunities', true, true],
    [['service_agent'], 'opportunities', false, false],
    [['service_agent'], 'customers', true, false],
    [['sales_rep'], 'analytics', false, false],
    [['service_supervisor'], 'analytics', true, true],
    [['viewer'], 'tickets', true, false],
    [['sales_manager'], 'partner-queues', false, false],
    [['admin'], 'users', true, true],
    [['unknown_role'], 'customers', false, false],
    [['sales_rep', 'service_supervisor'], 'analytics', true, true],
  ] as const)('%o on %s: read %s, write %s', (roles, area, read, write) => {
    expect(canRead(roles, area)).toBe(read)
    expect(canWrite(roles, area)).toBe(write)
  })

  it('managers approve, reps do not', () => {
    expect(isManager(['sales_manager'])).toBe(true)
    expect(isManager(['sales_rep'])).toBe(false)
  })
})
