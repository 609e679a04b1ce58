// Why: the SLA targets are one table replaced as a whole (PUT with the version read); the
// page edits rows in hours and sends minutes. The most specific rule wins per clock; the
// default rule (any priority, any type) must set all three targets.
export const PRIORITIES = ['high', 'medium', 'low'] as const
export const TICKET_TYPES = ['consultation', 'complaint', 'suggestion', 'tech_support', 'repair', 'visit'] as const

export interface SlaTargetApi {
  priority: string | null
  ticket_type: string | null
  assign_minutes: number | null
  first_response_minutes: number | null
  resolve_minutes: number | null
  updated_at?: string
  updated_by?: string
}

export interface SlaRow {
  priority: string | null
  ticket_type: string | null
  assign: number | null
  first_response: number | null
  resolve: number | null
}

function hours(minutes: number | null): number | null {
  return minutes === null || minutes === undefined ? null : Math.round((minutes / 60) * 100) / 100
}

function minutes(value: number | null | undefined): number | null {
  if (value === null || value === undefined || Number.isNaN(value)) return null
  return Math.max(1, Math.round(value * 60))
}

/** API rows → editable rows in hours, the default rule first, then by priority and type. */
export function toRows(targets: readonly SlaTargetApi[]): SlaRow[] {
  const rank = (t: SlaTargetApi) =>
    (t.priority ? 1 + PRIORITIES.indexOf(t.priority as (typeof PRIORITIES)[number]) : 0) * 10 +
    (t.ticket_type ? 1 + TICKET_TYPES.indexOf(t.ticket_type as (typeof TICKET_TYPES)[number]) : 0)
  return [...targets]
    .sort((a, b) => rank(a) - rank(b))
    .map((t) => ({
      priority: t.priority,
      ticket_type: t.ticket_type,
      assign: hours(t.assign_minutes),
      first_response: hours(t.first_response_minutes),
      resolve: hours(t.resolve_minutes),
    }))
}

/** Editable rows → the PUT body's targets, in minutes. */
export function toTargets(rows: readonly SlaRow[]): Omit<SlaTargetApi, 'updated_at' | 'updated_by'>[] {
  return rows.map((r) => ({
    priority: r.priority || null,
    ticket_type: r.ticket_type || null,
    assign_minutes: minutes(r.assign),
    first_response_minutes: minutes(r.first_response),
    resolve_minutes: minutes(r.resolve),
  }))
}

export type RowProblem = 'duplicate' | 'default-incomplete' | 'no-default' | 'empty'

/** What the page can tell before sending (the service checks it all again). */
export function rowProblems(rows: readonly SlaRow[]): Array<{ index: number; problem: RowProblem }> {
  const out: Array<{ index: number; problem: RowProblem }> = []
  const seen = new Set<string>()
  let hasDefault = false
  rows.forEach((r, index) => {
    const key = `${r.priority ?? '*'}|${r.ticket_type ?? '*'}`
    if (seen.has(key)) out.push({ index, problem: 'duplicate' })
    seen.add(key)
    const set = [r.assign, r.first_response, r.resolve].filter((v) => v !== null && v !== undefined)
    if (!r.priority && !r.ticket_type) {
      hasDefault = true
      if (set.length < 3) out.push({ index, problem: 'default-incomplete' })
    } else if (set.length === 0) out.push({ index, problem: 'empty' })
  })
  if (!hasDefault) out.push({ index: -1, problem: 'no-default' })
  return out
}

export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const

/** {"mon": [["09:00","18:00"]], …} → "09:00–18:00" per weekday ("" when closed). */
export function weeklyText(weekly: Record<string, Array<[string, string]>>): Record<string, string> {
  return Object.fromEntries(
    WEEKDAYS.map((d) => [d, (weekly[d] ?? []).map(([a, b]) => `${a.slice(0, 5)}–${b.slice(0, 5)}`).join(', ')]),
  )
}
