import { describe, expect, it } from 'vitest'
import { timeLeft, today } from '@/format'

describe('SLA time left', () => {
  const now = new Date('2026-11-30T08:00:00Z')
  it.each([
    ['2026-11-30T08:10:00+00:00', 10, '10 min', false],
    ['2026-11-30T10:05:00+00:00', 125, '2 h 05 min', false],
    ['2026-12-01T09:00:00+00:00', 1500, '1 d 1 h 00 min', false],
    ['2026-11-30T07:45:00+00:00', -15, '-15 min', true],
    ['2026-11-30T16:00:00+08:00', 0, '0 min', false],
  ])('%s → %s min (%s)', (due, minutes, text, overdue) => {
    expect(timeLeft(due, now)).toEqual({ minutes, text, overdue })
  })

  it('in the reader\'s units', () => {
    const units = { d: '天', h: '小时', min: '分钟' }
    expect(timeLeft('2026-11-30T10:05:00+00:00', now, units).text).toBe('2 小时 05 分钟')
    expect(timeLeft('2026-11-30T07:45:00+00:00', now, units).text).toBe('-15 分钟')
  })

  it('today is the local date', () => {
    expect(today(new Date('2026-11-30T12:00:00Z'))).toMatch(/^2026-11-30$/)
  })
})
