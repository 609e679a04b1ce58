// Why: what the customer pages decide from the API's answers, kept out of the components so
// it is tested: the duplicate warning, the 202 change request, a 360 section that is missing,
// an import row's messages per column, the grading preview, the quick follow-up's body.
import { ApiError } from '@/api/problem'
import type {
  Candidate,
  Customer,
  FollowUp,
  Indicator,
  Option,
  PendingKeyChange,
  Policy,
  SectionError,
} from './types'

// --- labels ---------------------------------------------------------------------------------

/** The label of a code in the reader's language (the code itself when unknown). */
export function labelOf(options: Option[] | undefined, code: string | null | undefined, locale: string): string {
  if (code === null || code === undefined || code === '') return '—'
  const option = options?.find((o) => o.code === code)
  if (!option) return code
  return locale === 'en' ? option.en : option['zh-CN']
}

// --- duplicates -----------------------------------------------------------------------------

export type DuplicateAnswer =
  | { kind: 'possible'; candidates: Candidate[]; message: string }
  | { kind: 'refused'; existing: Candidate | null; field: string; message: string }
  | null

/**
 * A create's refusal as a duplicate: `possible-duplicate` (similar name or shared mobile, the
 * caller may resend with allow_duplicate) or `duplicate-credit-code`/`duplicate-id-number`
 * (always refused, `existing` points at the record). Anything else: null.
 */
export function duplicateOf(error: unknown): DuplicateAnswer {
  if (!(error instanceof ApiError) || error.status !== 409) return null
  const problem = error.problem
  const slug = error.slug
  if (slug === 'possible-duplicate') {
    const candidates = Array.isArray(problem.candidates) ? (problem.candidates as Candidate[]) : []
    return { kind: 'possible', candidates, message: error.message }
  }
  if (slug === 'duplicate-credit-code' || slug === 'duplicate-id-number') {
    const existing = (problem.existing ?? null) as Candidate | null
    const field = slug === 'duplicate-credit-code' ? 'credit_code' : 'id_number'
    return { kind: 'refused', existing, field, message: error.message }
  }
  return null
}

/** Why a candidate looks like the new customer: 'similar_name' or the shared mobile. */
export function candidateReason(reason: string): { kind: 'name' | 'mobile' | 'other'; mobile?: string } {
  if (reason === 'similar_name') return { kind: 'name' }
  if (reason.startsWith('same_contact_mobile:')) return { kind: 'mobile', mobile: reason.slice('same_contact_mobile:'.length) }
  return { kind: 'other' }
}

// --- edits ----------------------------------------------------------------------------------

export type SaveOutcome = { kind: 'saved'; customer: Customer } | { kind: 'pending'; customer: Customer; requestId: string; fields: string[] }

/** PATCH's answer: 200 with the customer, or 202 with the key fields left to a change request. */
export function saveOutcome(status: number, body: Customer | PendingKeyChange): SaveOutcome {
  if (status === 202 && 'change_request' in body) {
    return {
      kind: 'pending',
      customer: body.customer,
      requestId: body.change_request.id,
      fields: Object.keys(body.change_request.changes),
    }
  }
  return { kind: 'saved', customer: body as Customer }
}

type Editable = Record<string, unknown>

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null)
}

/** Only the fields that changed (PATCH changes only what is sent; '' clears to null). */
export function changedFields(before: Editable, after: Editable, fields: readonly string[]): Editable {
  const out: Editable = {}
  for (const field of fields) {
    const value = after[field] === '' ? null : after[field]
    if (!same(before[field] === '' ? null : before[field], value)) out[field] = value
  }
  return out
}

// --- customer 360 ---------------------------------------------------------------------------

export type Section<T> = { ok: true; value: T } | { ok: false; status: number; detail: string }

/** A 360 section: the service's answer, or the gateway's `{"error": …}` marker. */
export function section<T>(raw: T | SectionError | undefined | null): Section<T> {
  if (raw === undefined || raw === null) return { ok: false, status: 0, detail: '' }
  if (typeof raw === 'object' && !Array.isArray(raw) && 'error' in raw) {
    const error = (raw as SectionError).error
    return { ok: false, status: error?.status ?? 0, detail: error?.detail ?? '' }
  }
  return { ok: true, value: raw as T }
}

export interface TimelineEntry {
  id: string
  day: string
  method: string
  feedback: string
  outcome: string
  summary: string
  who: string
  next: string | null
  actions: string[]
  system: boolean
}

/** Follow-ups newest first, as the timeline shows them. */
export function timeline(items: FollowUp[]): TimelineEntry[] {
  return [...items]
    .sort((a, b) => (a.occurred_on === b.occurred_on ? b.created_at.localeCompare(a.created_at) : b.occurred_on.localeCompare(a.occurred_on)))
    .map((f) => ({
      id: f.id,
      day: f.occurred_on,
      method: f.method,
      feedback: f.feedback,
      outcome: f.outcome,
      summary: f.summary,
      who: f.follower_name ?? f.follower_id,
      next: f.next_follow_up_at,
      actions: f.action_items.map((a) => a.action),
      system: f.source === 'system',
    }))
}

/** After a positive follow-up a prospect becomes intent through an event: wait for that. */
export function expectsLifecycleChange(lifecycle: string, feedback: string): boolean {
  return lifecycle === 'prospect' && feedback === 'positive'
}

// --- quick follow-up ------------------------------------------------------------------------

export interface FollowUpDraft {
  method: string
  feedback: string
  outcome: string
  summary: string
  /** YYYY-MM-DD or '' */
  next_on: string
  /** One action per line. */
  actions: string
}

export function emptyDraft(): FollowUpDraft {
  return { method: 'phone', feedback: 'neutral', outcome: 'continue', summary: '', next_on: '', actions: '' }
}

/** The next follow-up day as an instant: 09:00 that day in the reader's zone, with offset. */
export function nextFollowUpAt(day: string): string | undefined {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) return undefined
  return new Date(`${day}T09:00:00`).toISOString()
}

/** POST /api/v1/follow-ups's body from the compact form. */
export function followUpBody(customerId: string, draft: FollowUpDraft): Record<string, unknown> {
  const actions = draft.actions
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .map((action) => ({ action }))
  const body: Record<string, unknown> = {
    customer_id: customerId,
    method: draft.method,
    feedback: draft.feedback,
    outcome: draft.outcome,
    summary: draft.summary.trim(),
  }
  const next = nextFollowUpAt(draft.next_on)
  if (next) body.next_follow_up_at = next
  if (actions.length) body.action_items = actions
  return body
}

/** The follow-up API's field messages onto the compact form's fields. */
export function followUpFieldErrors(fields: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [field, message] of Object.entries(fields)) {
    const key = field === 'next_follow_up_at' ? 'next_on' : field.startsWith('action_items') ? 'actions' : field
    out[key] = out[key] ? `${out[key]}; ${message}` : message
  }
  return out
}

// --- import ---------------------------------------------------------------------------------

export interface ImportMessage {
  row: number
  name: string | null
  status: string
  field: string
  message: string
  level: 'error' | 'warning'
}

/** "tags: not administered tags: X" → field tags; a reason without a column: field ''. */
export function splitReason(reason: string): { field: string; message: string } {
  const match = /^([A-Za-z_][A-Za-z0-9_.]*|[\u4e00-\u9fa5]+):\s*(.*)$/s.exec(reason)
  return match ? { field: match[1], message: match[2] } : { field: '', message: reason }
}

/** The dry run's rows as one line per (row, field, message); valid rows without warnings drop out. */
export function importMessages(rows: Array<{ row: number; name: string | null; status: string; reasons: string[]; warnings?: string[] }>): ImportMessage[] {
  const out: ImportMessage[] = []
  for (const row of rows) {
    for (const reason of row.reasons) out.push({ row: row.row, name: row.name, status: row.status, ...splitReason(reason), level: 'error' })
    for (const warning of row.warnings ?? []) out.push({ row: row.row, name: row.name, status: row.status, ...splitReason(warning), level: 'warning' })
    if (row.status === 'duplicate' && row.reasons.length === 0) {
      out.push({ row: row.row, name: row.name, status: row.status, field: '', message: 'duplicate', level: 'error' })
    }
  }
  return out
}

// --- grading --------------------------------------------------------------------------------

function roundHalfUp(value: number): number {
  return Math.round((value + Number.EPSILON) * 100) / 100
}

/**
 * What the scores would give (the service decides; this is the preview):
 * total = Σ(score ÷ max × weight) ÷ Σweights × 100, rounded half up to 2 places.
 */
export function gradePreview(
  indicators: Pick<Indicator, 'id' | 'weight' | 'max_score'>[],
  scores: Record<string, number | null | undefined>,
  policy: Pick<Policy, 'grade_a_min' | 'grade_b_min'> | null,
): { total: number; grade: 'A' | 'B' | 'C' | null; complete: boolean } {
  let points = 0
  let weights = 0
  let complete = true
  for (const indicator of indicators) {
    const weight = Number(indicator.weight)
    const max = Number(indicator.max_score)
    const score = scores[indicator.id]
    weights += weight
    if (score === null || score === undefined || Number.isNaN(score)) {
      complete = false
      continue
    }
    points += (Math.min(Math.max(score, 0), max) / max) * weight
  }
  const total = weights > 0 ? roundHalfUp((points / weights) * 100) : 0
  if (!policy) return { total, grade: null, complete }
  const grade = total >= Number(policy.grade_a_min) ? 'A' : total >= Number(policy.grade_b_min) ? 'B' : 'C'
  return { total, grade, complete }
}
