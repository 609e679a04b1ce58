// Why: timestamps arrive as UTC with their offset and are shown in the reader's time zone;
// SLA clocks are shown as time left; amounts as yuan. One place, so every page agrees.

// Formatters are made once per locale and kept: toLocaleString builds one per call, and a
// list of 50 rows with two dates each spent more time there than in rendering the table.
const formatters = new Map<string, Intl.DateTimeFormat | Intl.NumberFormat>()

function formatter<T extends Intl.DateTimeFormat | Intl.NumberFormat>(key: string, make: () => T): T {
  let found = formatters.get(key) as T | undefined
  if (!found) formatters.set(key, (found = make()))
  return found
}

export function dateTime(value: string | null | undefined, locale = 'zh-CN'): string {
  if (!value) return '—'
  const date = new Date(value)
  if (Number.isNaN(date.getTime())) return value
  const shown = formatter(
    `dt:${locale}`,
    () => new Intl.DateTimeFormat(locale, { year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hour12: false }),
  )
  return shown.format(date)
}

export function date(value: string | null | undefined, locale = 'zh-CN'): string {
  if (!value) return '—'
  const parsed = /^\d{4}-\d{2}-\d{2}$/.test(value) ? new Date(`${value}T00:00:00`) : new Date(value)
  if (Number.isNaN(parsed.getTime())) return value
  const shown = formatter(`d:${locale}`, () => new Intl.DateTimeFormat(locale, { year: 'numeric', month: '2-digit', day: '2-digit' }))
  return shown.format(parsed)
}

export interface DurationUnits {
  d: string
  h: string
  min: string
}

export const EN_UNITS: DurationUnits = { d: 'd', h: 'h', min: 'min' }

/** "2 h 05 min" / "-15 min" (overdue): the time between now and due, to the minute, in the
 * reader's units ("2 小时 05 分钟"). */
export function timeLeft(
  due: string,
  now: Date = new Date(),
  units: DurationUnits = EN_UNITS,
): { minutes: number; text: string; overdue: boolean } {
  const minutes = Math.round((new Date(due).getTime() - now.getTime()) / 60000)
  const overdue = minutes < 0
  const total = Math.abs(minutes)
  const days = Math.floor(total / 1440)
  const hours = Math.floor((total % 1440) / 60)
  const mins = total % 60
  const parts = [
    days ? `${days} ${units.d}` : '',
    hours ? `${hours} ${units.h}` : '',
    `${String(mins).padStart(days || hours ? 2 : 1, '0')} ${units.min}`,
  ]
  return { minutes, overdue, text: (overdue ? '-' : '') + parts.filter(Boolean).join(' ') }
}

export function money(value: string | number | null | undefined, locale = 'zh-CN'): string {
  if (value === null || value === undefined || value === '') return '—'
  const amount = typeof value === 'string' ? Number(value) : value
  if (Number.isNaN(amount)) return String(value)
  const shown = formatter(`cny:${locale}`, () => new Intl.NumberFormat(locale, { style: 'currency', currency: 'CNY', maximumFractionDigits: 2 }))
  return shown.format(amount)
}

/** Today's date in the reader's time zone, as YYYY-MM-DD (what date inputs and the API use). */
export function today(now: Date = new Date()): string {
  const local = new Date(now.getTime() - now.getTimezoneOffset() * 60000)
  return local.toISOString().slice(0, 10)
}
