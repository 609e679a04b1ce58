// Why: the opportunity stage machine as the console needs it, mirroring
// services/engagement/src/crm_engagement/domain/stages.py (decide_move): which moves are legal,
// what each move must carry (a progress note always; won: actual amount and contract number;
// lost: a reason), and how the API's refusal maps onto the dialog's fields. The API decides;
// this only lets the dialog ask for the right things and say what is missing before sending.

import type { Problem } from '@/api/problem'
import { fieldMessages, problemSlug } from '@/api/problem'
import type { LostReason, Opportunity, Stage } from './types'

export const STAGES: Stage[] = ['initial_contact', 'needs_analysis', 'proposal', 'negotiation', 'won', 'lost']
export const OPEN_STAGES: Stage[] = ['initial_contact', 'needs_analysis', 'proposal', 'negotiation']
export const LOST_REASONS: LostReason[] = ['budget', 'competitor', 'timing', 'no_decision', 'requirements', 'other']
export const DEFAULT_PROBABILITY: Record<Stage, number> = {
  initial_contact: 10,
  needs_analysis: 25,
  proposal: 50,
  negotiation: 75,
  won: 100,
  lost: 0,
}

export type MoveKind = 'forward' | 'backward' | 'win' | 'lose' | 'reopen'
export type MoveRule = 'stage-must-change' | 'closed-to-closed' | 'reopen-requires-manager'

export function isOpen(stage: Stage): boolean {
  return OPEN_STAGES.includes(stage)
}

export interface MovePlan {
  /** The kind of move, or null when the machine refuses it. */
  kind: MoveKind | null
  /** The rule a refused move breaks. */
  rule?: MoveRule
  /** Fields the move must carry (besides the target stage). */
  required: MoveField[]
  /** Fields it may carry. */
  optional: MoveField[]
}

export type MoveField = 'note' | 'probability' | 'actual_amount' | 'contract_number' | 'lost_reason' | 'lost_detail'

/** What moving from `from` to `to` is, and what it must carry (domain: decide_move). */
export function planMove(from: Stage, to: Stage, mayReopen: boolean): MovePlan {
  const refused = (rule: MoveRule): MovePlan => ({ kind: null, rule, required: [], optional: [] })
  if (from === to) return refused('stage-must-change')
  if (!isOpen(from)) {
    if (!isOpen(to)) return refused('closed-to-closed')
    if (!mayReopen) return refused('reopen-requires-manager')
    return { kind: 'reopen', required: ['note'], optional: ['probability'] }
  }
  if (to === 'won') return { kind: 'win', required: ['note', 'actual_amount', 'contract_number'], optional: [] }
  if (to === 'lost') return { kind: 'lose', required: ['note', 'lost_reason'], optional: ['lost_detail'] }
  const kind = OPEN_STAGES.indexOf(to) > OPEN_STAGES.indexOf(from) ? 'forward' : 'backward'
  return { kind, required: ['note'], optional: ['probability'] }
}

export interface MoveForm {
  note: string
  probability: number | null
  actual_amount: string
  contract_number: string
  lost_reason: LostReason | ''
  lost_detail: string
}

export function emptyMoveForm(): MoveForm {
  return { note: '', probability: null, actual_amount: '', contract_number: '', lost_reason: '', lost_detail: '' }
}

const AMOUNT = /^\d{1,12}(\.\d{1,2})?$/

/**
 * What is missing or malformed before sending, as field → message key (under
 * engagement.move.errors). Mirrors the API: note 2+ characters, won needs an amount (≥ 0, at
 * most 2 places) and a contract number, lost a reason.
 */
export function checkMove(plan: MovePlan, form: MoveForm): Partial<Record<MoveField, string>> {
  const out: Partial<Record<MoveField, string>> = {}
  if (!plan.kind) return out
  if (form.note.trim().length < 2) out.note = 'noteShort'
  if (plan.required.includes('actual_amount')) {
    const amount = form.actual_amount.trim()
    if (!amount) out.actual_amount = 'required'
    else if (!AMOUNT.test(amount)) out.actual_amount = 'amountFormat'
  }
  if (plan.required.includes('contract_number') && !form.contract_number.trim()) out.contract_number = 'required'
  if (plan.required.includes('lost_reason') && !form.lost_reason) out.lost_reason = 'required'
  if (form.probability !== null && (form.probability < 0 || form.probability > 100)) out.probability = 'probability'
  return out
}

/** The body of POST /opportunities/{id}/stage for this move (only what the move takes). */
export function moveBody(opportunity: Pick<Opportunity, 'version'>, to: Stage, plan: MovePlan, form: MoveForm) {
  const body: Record<string, unknown> = { to, note: form.note.trim(), version: opportunity.version }
  const takes = [...plan.required, ...plan.optional]
  if (takes.includes('probability') && form.probability !== null) body.probability = form.probability
  if (takes.includes('actual_amount')) body.actual_amount = form.actual_amount.trim()
  if (takes.includes('contract_number')) body.contract_number = form.contract_number.trim()
  if (takes.includes('lost_reason')) body.lost_reason = form.lost_reason || null
  if (takes.includes('lost_detail') && form.lost_detail.trim()) body.lost_detail = form.lost_detail.trim()
  return body
}

/**
 * The API's refusal as the dialog's field messages: per-field errors of the request's
 * validation, and the stage rules that name fields (won-requires-contract, lost-requires-reason)
 * put their detail on those fields. Anything else stays a message for the whole dialog.
 */
export function moveProblemFields(problem: Problem): Record<string, string> {
  const fields = fieldMessages(problem)
  const rule = (problem.rule as string | undefined) ?? problemSlug(problem)
  const detail = problem.detail ?? problem.title ?? ''
  const put = (field: string) => {
    if (!fields[field]) fields[field] = detail
  }
  if (rule === 'won-requires-contract') {
    put('actual_amount')
    put('contract_number')
  } else if (rule === 'lost-requires-reason') put('lost_reason')
  return fields
}

export interface StageColumn {
  stage: Stage
  items: Opportunity[]
  count: number
  /** Σ expected amount (won: actual when known), as a decimal string with 2 places. */
  amount: string
}

/** Cents of a decimal string, exact for NUMERIC(14,2). */
export function cents(value: string | null | undefined): number {
  if (!value) return 0
  const match = /^(-?)(\d+)(?:\.(\d{1,2}))?$/.exec(value.trim())
  if (!match) return 0
  const whole = Number(match[2]) * 100 + Number((match[3] ?? '').padEnd(2, '0'))
  return match[1] ? -whole : whole
}

export function fromCents(value: number): string {
  const sign = value < 0 ? '-' : ''
  const abs = Math.abs(value)
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`
}

/** The board: one column per stage, each with its cards, count and amount. */
export function boardColumns(opportunities: Opportunity[], stages: Stage[] = STAGES): StageColumn[] {
  return stages.map((stage) => {
    const items = opportunities.filter((o) => o.stage === stage)
    const total = items.reduce((sum, o) => sum + cents(stage === 'won' && o.actual_amount ? o.actual_amount : o.expected_amount), 0)
    return { stage, items, count: items.length, amount: fromCents(total) }
  })
}

/** Where a card may go from its stage: every other stage whose move the machine accepts. */
export function targetsFrom(stage: Stage, mayReopen: boolean): Stage[] {
  return STAGES.filter((to) => planMove(stage, to, mayReopen).kind !== null)
}
