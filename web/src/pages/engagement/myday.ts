// Why: "my day" from what the engagement API lists: the action items due by today (overdue
// first), today's reminders, and the customers past their cadence. Pure, so it is tested.

import type { ActionItem, Reminder } from './types'

/** Local calendar day (YYYY-MM-DD) of a moment, in the reader's time zone. */
export function localDay(moment: string): string {
  const d = new Date(moment)
  if (Number.isNaN(d.getTime())) return ''
  const local = new Date(d.getTime() - d.getTimezoneOffset() * 60000)
  return local.toISOString().slice(0, 10)
}

export interface DueItem extends ActionItem {
  overdue: boolean
  daysOverdue: number
}

function daysBetween(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000)
}

/** Open action items due today or earlier, oldest first; each says whether and how long overdue. */
export function dueActionItems(items: ActionItem[], today: string): DueItem[] {
  return items
    .filter((i) => !i.done && i.due_on !== null && i.due_on <= today)
    .map((i) => ({ ...i, overdue: (i.due_on as string) < today, daysOverdue: Math.max(0, daysBetween(i.due_on as string, today)) }))
    .sort((a, b) => (a.due_on as string).localeCompare(b.due_on as string) || a.action.localeCompare(b.action))
}

/** Reminders of today (by their local day), earliest first, once each. */
export function todaysReminders(reminders: Reminder[], today: string): Reminder[] {
  const seen = new Set<string>()
  return reminders
    .filter((r) => (r.due_on ?? localDay(r.due_at)) === today || localDay(r.due_at) === today)
    .filter((r) => (seen.has(r.id) ? false : (seen.add(r.id), true)))
    .sort((a, b) => a.due_at.localeCompare(b.due_at))
}
