import { describe, expect, it } from 'vitest'
import {
  boardColumns,
  cents,
  checkMove,
  emptyMoveForm,
  fromCents,
  moveBody,
  moveProblemFields,
  planMove,
  targetsFrom,
  type MoveForm,
} from '@/pages/engagement/stages'
import type { Opportunity, Stage } from '@/pages/engagement/types'

const [C, N, P, G, W, L]: Stage[] = ['initial_contact', 'needs_analysis', 'proposal', 'negotiation', 'won', 'lost']
const WON = { actual_amount: '98000.00', contract_number: 'HT-2026-001' }
const LOST = { lost_reason: 'competitor' as const }

// Mirrors services/engagement/tests/test_stage_machine.py: (from, to, facts, may reopen, kind or rule)
const CASES: Array<[Stage, Stage, Partial<MoveForm>, boolean, string]> = [
  [C, N, {}, false, 'forward'],
  [C, G, {}, false, 'forward'],
  [N, P, {}, false, 'forward'],
  [P, G, {}, false, 'forward'],
  [G, P, {}, false, 'backward'],
  [P, C, {}, false, 'backward'],
  [C, W, WON, false, 'win'],
  [G, W, WON, false, 'win'],
  [N, L, LOST, false, 'lose'],
  [G, L, LOST, false, 'lose'],
  [W, G, {}, true, 'reopen'],
  [L, C, {}, true, 'reopen'],
  [G, G, {}, false, 'stage-must-change'],
  [W, W, WON, true, 'stage-must-change'],
  [W, L, LOST, true, 'closed-to-closed'],
  [L, W, WON, true, 'closed-to-closed'],
  [W, G, {}, false, 'reopen-requires-manager'],
  [L, P, {}, false, 'reopen-requires-manager'],
  [G, W, {}, false, 'missing:actual_amount,contract_number'],
  [G, W, { actual_amount: '1' }, false, 'missing:contract_number'],
  [G, W, { contract_number: 'HT-1' }, false, 'missing:actual_amount'],
  [G, W, { actual_amount: '1', contract_number: '  ' }, false, 'missing:contract_number'],
  [P, L, {}, false, 'missing:lost_reason'],
]

describe('the stage machine, as the domain decides it', () => {
  it.each(CASES)('%s → %s %j (may reopen %s): %s', (from, to, facts, mayReopen, expected) => {
    const plan = planMove(from, to, mayReopen)
    const form = { ...emptyMoveForm(), note: '客户确认预算', ...facts }
    const missing = Object.keys(checkMove(plan, form)).sort().join(',')
    if (['stage-must-change', 'closed-to-closed', 'reopen-requires-manager'].includes(expected)) {
      expect(plan.kind).toBeNull()
      expect(plan.rule).toBe(expected)
    } else if (expected.startsWith('missing:')) {
      expect(plan.kind).not.toBeNull()
      expect(missing).toBe(expected.slice('missing:'.length))
    } else {
      expect(plan.kind).toBe(expected)
      expect(missing).toBe('')
    }
  })

  it.each([
    ['', 'noteShort'],
    [' a ', 'noteShort'],
    ['ok', undefined],
  ])('a note %j → %s', (note, error) => {
    expect(checkMove(planMove(C, N, false), { ...emptyMoveForm(), note }).note).toBe(error)
  })

  it.each([
    ['12.345', 'amountFormat'],
    ['-1', 'amountFormat'],
    ['1e5', 'amountFormat'],
    ['120000', undefined],
    ['120000.5', undefined],
  ])('a won amount %j → %s', (amount, error) => {
    const form = { ...emptyMoveForm(), note: 'signed', actual_amount: amount, contract_number: 'HT-1' }
    expect(checkMove(planMove(G, W, false), form).actual_amount).toBe(error)
  })

  it('targets: every legal move from a stage', () => {
    expect(targetsFrom(P, false)).toEqual([C, N, G, W, L])
    expect(targetsFrom(W, false)).toEqual([])
    expect(targetsFrom(W, true)).toEqual([C, N, P, G])
  })
})

describe('the move request', () => {
  it('carries only what the move takes', () => {
    const form = { ...emptyMoveForm(), note: ' 签约 ', ...WON, probability: 40, lost_reason: 'budget' as const }
    expect(moveBody({ version: 3 }, W, planMove(G, W, false), form)).toEqual({
      to: W,
      note: '签约',
      version: 3,
      actual_amount: '98000.00',
      contract_number: 'HT-2026-001',
    })
    expect(moveBody({ version: 1 }, P, planMove(C, P, false), { ...form, lost_detail: 'x' })).toEqual({ to: P, note: '签约', version: 1, probability: 40 })
    expect(moveBody({ version: 2 }, L, planMove(C, L, false), { ...emptyMoveForm(), note: 'no', lost_reason: 'budget', lost_detail: ' cut ' })).toEqual({
      to: L,
      note: 'no',
      version: 2,
      lost_reason: 'budget',
      lost_detail: 'cut',
    })
  })

  it.each([
    [
      { status: 422, type: 'https://crm/problems/won-requires-contract', rule: 'won-requires-contract', detail: 'needs contract' },
      { actual_amount: 'needs contract', contract_number: 'needs contract' },
    ],
    [
      { status: 422, type: 'https://crm/problems/lost-requires-reason', rule: 'lost-requires-reason', detail: 'needs reason' },
      { lost_reason: 'needs reason' },
    ],
    [
      { status: 422, type: 'https://crm/problems/validation', detail: 'invalid', errors: [{ field: 'body.contract_number', message: 'too long' }] },
      { contract_number: 'too long' },
    ],
    [{ status: 403, type: 'https://crm/problems/reopen-requires-manager', rule: 'reopen-requires-manager', detail: 'managers' }, {}],
  ])('the API refusal %j lands on fields %j', (problem, fields) => {
    expect(moveProblemFields(problem)).toEqual(fields)
  })
})

describe('the board', () => {
  const opp = (stage: Stage, expected: string, actual: string | null = null) => ({ id: `${stage}${expected}`, stage, expected_amount: expected, actual_amount: actual }) as Opportunity

  it('a column per stage with its count and exact amount (won: actual)', () => {
    const columns = boardColumns([opp(C, '0.10'), opp(C, '0.20'), opp(W, '100.00', '90.50'), opp(L, '5.00')])
    expect(columns.map((c) => [c.stage, c.count, c.amount])).toEqual([
      [C, 2, '0.30'],
      [N, 0, '0.00'],
      [P, 0, '0.00'],
      [G, 0, '0.00'],
      [W, 1, '90.50'],
      [L, 1, '5.00'],
    ])
  })

  it.each([
    ['120000.00', 12000000],
    ['0.5', 50],
    ['7', 700],
    ['', 0],
    ['abc', 0],
  ])('cents(%j) = %d', (text, value) => {
    expect(cents(text)).toBe(value)
  })

  it('fromCents keeps two places', () => {
    expect(fromCents(12000005)).toBe('120000.05')
    expect(fromCents(-150)).toBe('-1.50')
  })
})
