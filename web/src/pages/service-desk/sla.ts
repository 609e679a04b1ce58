// Why: an SLA clock as a person reads it: time left, or how long past due (red), warned
// (orange), paused while waiting on the customer, or stopped (met / missed). The clock's
// absolute due and warning moments come from the service; the page recomputes against now
// every minute.
import { EN_UNITS, timeLeft, type DurationUnits } from '@/format'

export type ClockState = 'ok' | 'warning' | 'breached' | 'paused' | 'met' | 'missed'

export interface ClockLike {
  status: string
  due_at: string | null
  warn_at: string | null
  /** Business minutes left (the detail's clock). */
  remaining_minutes?: number
  /** The list's paused clock. */
  paused_remaining_minutes?: number | null
}

export interface ClockDisplay {
  state: ClockState
  /** "2 h 05 min" left, "-15 min" past due; null once stopped. */
  text: string | null
  minutes: number | null
}

function minutesText(minutes: number, now: Date, units: DurationUnits): string {
  return timeLeft(new Date(now.getTime() + minutes * 60000).toISOString(), now, units).text
}

export function clockDisplay(clock: ClockLike, now: Date = new Date(), units: DurationUnits = EN_UNITS): ClockDisplay {
  if (clock.status === 'met' || clock.status === 'missed') return { state: clock.status, text: null, minutes: null }
  if (clock.status === 'paused' || !clock.due_at) {
    const left = clock.paused_remaining_minutes ?? clock.remaining_minutes ?? null
    return { state: 'paused', text: left === null ? null : minutesText(left, now, units), minutes: left }
  }
  const left = timeLeft(clock.due_at, now, units)
  let state: ClockState = 'ok'
  if (clock.status === 'breached' || left.overdue || now.getTime() >= new Date(clock.due_at).getTime()) state = 'breached'
  else if (clock.status === 'warning' || (clock.warn_at && now.getTime() >= new Date(clock.warn_at).getTime())) state = 'warning'
  return { state, text: left.text, minutes: left.minutes }
}

/** Element Plus tag type per state: breached red, warning orange. */
export function clockTagType(state: ClockState): 'danger' | 'warning' | 'success' | 'info' | 'primary' {
  switch (state) {
    case 'breached':
    case 'missed':
      return 'danger'
    case 'warning':
      return 'warning'
    case 'met':
      return 'success'
    case 'paused':
      return 'info'
    default:
      return 'primary'
  }
}
