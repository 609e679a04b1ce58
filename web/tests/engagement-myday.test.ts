import { describe, expect, it } from 'vitest'
import { personLabel } from '@/pages/engagement/customerNames'
import { dueActionItems, localDay, todaysReminders } from '@/pages/engagement/myday'
import type { ActionItem, Reminder } from '@/pages/engagement/types'

const item = (id: string, due_on: string | null, done = false) =>
  ({ id, action: id, due_on, done, customer_id: 'c', followup_id: 'f', assignee_id: 'u', done_at: null, version: 1 }) as ActionItem

describe('action items of my day', () => {
  it('those due by today, oldest first, with days overdue', () => {
    const due = dueActionItems(
      [item('later', '2026-12-02'), item('today', '2026-11-30'), item('old', '2026-11-27'), item('none', null), item('done', '2026-11-01', true)],
      '2026-11-30',
    )
    expect(due.map((d) => [d.id, d.overdue, d.daysOverdue])).toEqual([
      ['old', true, 3],
      ['today', false, 0],
    ])
  })
})

describe("today's reminders", () => {
  const reminder = (id: string, due_at: string, due_on: string | null = null) => ({ id, due_at, due_on, kind: 'plan_task', title: id }) as Reminder

  it('by their day, once each, earliest first', () => {
    const at9 = reminder('a', '2026-11-30T01:00:00+00:00', '2026-11-30')
    const list = todaysReminders([reminder('b', '2026-11-30T06:00:00+00:00'), at9, at9, reminder('old', '2026-11-29T01:00:00+00:00', '2026-11-29')], localDay('2026-11-30T04:00:00Z'))
    expect(list.map((r) => r.id)).toEqual(['a', 'b'])
  })

  it('localDay of nonsense is empty', () => {
    expect(localDay('not a time')).toBe('')
  })
})

describe('people by id', () => {
  it.each([
    ['u-1', 'u-1', 'me'],
    ['9311ad22-86e9-4861-bab0-ccbe0e9ae3aa', 'u-1', '9311ad22…'],
    ['rep2', 'u-1', 'rep2'],
    [null, 'u-1', '—'],
  ])('%s (me %s) → %s', (id, me, label) => {
    expect(personLabel(id, me, 'me')).toBe(label)
  })
})
