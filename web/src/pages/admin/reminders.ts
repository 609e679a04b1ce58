// Why: engagement's reminder rules are changed by PATCH with only what changed and the
// version read; the grades are A, B, C.
export const GRADES = ['A', 'B', 'C'] as const

export interface EngagementSettings {
  version: number
  reminder_hour: number
  timezone: string
  summary_min_length: number
  cadence_days: Record<string, number>
  plan_templates: Record<string, unknown>
  plan_horizon_months: number
  first_follow_up_hours: number
  updated_by: string | null
  updated_at: string | null
}

export interface ReminderForm {
  reminder_hour: number
  timezone: string
  summary_min_length: number
  cadence_days: Record<string, number | null>
}

export function formOf(settings: EngagementSettings): ReminderForm {
  return {
    reminder_hour: settings.reminder_hour,
    timezone: settings.timezone,
    summary_min_length: settings.summary_min_length,
    cadence_days: Object.fromEntries(GRADES.map((g) => [g, settings.cadence_days[g] ?? null])),
  }
}

/** The PATCH body: the fields that differ from what was read, and the version read. */
export function patchOf(read: EngagementSettings, form: ReminderForm): Record<string, unknown> {
  const out: Record<string, unknown> = { version: read.version }
  if (form.reminder_hour !== read.reminder_hour) out.reminder_hour = form.reminder_hour
  if (form.timezone.trim() !== read.timezone) out.timezone = form.timezone.trim()
  if (form.summary_min_length !== read.summary_min_length) out.summary_min_length = form.summary_min_length
  const cadence: Record<string, number> = {}
  for (const g of GRADES) {
    const value = form.cadence_days[g]
    if (value !== null && value !== undefined && value !== read.cadence_days[g]) cadence[g] = value
  }
  if (Object.keys(cadence).length) out.cadence_days = cadence
  return out
}

export function hasChanges(patch: Record<string, unknown>): boolean {
  return Object.keys(patch).some((k) => k !== 'version')
}
