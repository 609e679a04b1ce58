import { describe, expect, it } from 'vitest'
import { clockDisplay, clockTagType } from '@/pages/service-desk/sla'

const now = new Date('2026-11-30T08:00:00Z')

describe('an SLA clock as read', () => {
  it.each([
    ['running, 2 h left', { status: 'running', due_at: '2026-11-30T10:00:00Z', warn_at: '2026-11-30T09:36:00Z' }, 'ok', '2 h 00 min'],
    ['past the warning moment', { status: 'running', due_at: '2026-11-30T08:10:00Z', warn_at: '2026-11-30T07:58:00Z' }, 'warning', '10 min'],
    ['warned by the service', { status: 'warning', due_at: '2026-11-30T08:30:00Z', warn_at: '2026-11-30T08:24:00Z' }, 'warning', '30 min'],
    ['past due', { status: 'running', due_at: '2026-11-30T07:45:00Z', warn_at: '2026-11-30T07:40:00Z' }, 'breached', '-15 min'],
    ['breached', { status: 'breached', due_at: '2026-11-30T06:00:00Z', warn_at: null }, 'breached', '-2 h 00 min'],
    ['paused (detail)', { status: 'paused', due_at: null, warn_at: null, remaining_minutes: 95 }, 'paused', '1 h 35 min'],
    ['paused (list)', { status: 'paused', due_at: null, warn_at: null, paused_remaining_minutes: 5 }, 'paused', '5 min'],
    ['met', { status: 'met', due_at: '2026-11-30T10:00:00Z', warn_at: null }, 'met', null],
    ['missed', { status: 'missed', due_at: '2026-11-30T06:00:00Z', warn_at: null }, 'missed', null],
  ] as const)('%s', (_, clock, state, text) => {
    const shown = clockDisplay(clock, now)
    expect(shown.state).toBe(state)
    expect(shown.text).toBe(text)
  })

  it('breached is red, warning orange', () => {
    expect(clockTagType('breached')).toBe('danger')
    expect(clockTagType('warning')).toBe('warning')
    expect(clockTagType('ok')).toBe('primary')
  })
})
