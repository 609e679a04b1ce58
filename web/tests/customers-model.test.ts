import { describe, expect, it } from 'vitest'
import { ApiError, problemSlug } from '@/api/problem'
import {
  candidateReason,
  changedFields,
  duplicateOf,
  emptyDraft,
  expectsLifecycleChange,
  followUpBody,
  followUpFieldErrors,
  gradePreview,
  importMessages,
  labelOf,
  saveOutcome,
  section,
  splitReason,
  timeline,
} from '@/pages/customers/model'
import type { Customer, FollowUp } from '@/pages/customers/types'

describe('duplicate answers of a create', () => {
  const candidates = [{ id: 'c1', code: 'CRM2026001', name: '杭州星辰网络科技有限公司', reason: 'similar_name' }]

  it('possible-duplicate (a URN type, as the services answer) lists the candidates', () => {
    const error = new ApiError({ status: 409, type: 'urn:crm:problem:possible-duplicate', detail: 'looks like', candidates })
    expect(duplicateOf(error)).toEqual({ kind: 'possible', candidates, message: 'looks like' })
  })

  it('a same credit code is refused, pointing at the existing customer, on the credit code field', () => {
    const existing = { id: 'c2', code: 'CRM2026002', name: 'X' }
    const error = new ApiError({ status: 409, type: 'urn:crm:problem:duplicate-credit-code', detail: 'taken', existing })
    expect(duplicateOf(error)).toMatchObject({ kind: 'refused', field: 'credit_code', existing })
    const id = new ApiError({ status: 409, type: 'https://crm/problems/duplicate-id-number', detail: 'taken' })
    expect(duplicateOf(id)).toMatchObject({ kind: 'refused', field: 'id_number', existing: null })
  })

  it.each([
    new ApiError({ status: 409, type: 'urn:crm:problem:stale-version', detail: 'stale' }),
    new ApiError({ status: 422, type: 'urn:crm:problem:validation-error' }),
    new Error('network'),
    null,
  ])('anything else is not a duplicate (%#)', (error) => {
    expect(duplicateOf(error)).toBeNull()
  })

  it.each([
    ['urn:crm:problem:possible-duplicate', 'possible-duplicate'],
    ['https://crm.example.com/problems/stale-version', 'stale-version'],
    [undefined, ''],
  ])('slug of %s', (type, slug) => {
    expect(problemSlug({ type })).toBe(slug)
  })

  it('tells why a candidate looks alike', () => {
    expect(candidateReason('similar_name')).toEqual({ kind: 'name' })
    expect(candidateReason('same_contact_mobile:13800000001')).toEqual({ kind: 'mobile', mobile: '13800000001' })
    expect(candidateReason('whatever')).toEqual({ kind: 'other' })
  })
})

describe('saving an edit', () => {
  const customer = { id: 'c1', name: 'Old', version: 3 } as Customer

  it('200 is saved, 202 is a change request naming the waiting fields', () => {
    expect(saveOutcome(200, customer)).toEqual({ kind: 'saved', customer })
    const pending = saveOutcome(202, {
      customer,
      change_request: { id: 'r1', changes: { name: 'New' } } as never,
    })
    expect(pending).toEqual({ kind: 'pending', customer, requestId: 'r1', fields: ['name'] })
  })

  it('sends only the changed fields; an emptied text clears it', () => {
    const before = { name: 'A', needs: 'x', tags: ['a'], grade: null, remarks: null }
    const after = { name: 'A', needs: '', tags: ['a', 'b'], grade: null, remarks: '' }
    expect(changedFields(before, after, ['name', 'needs', 'tags', 'grade', 'remarks'])).toEqual({ needs: null, tags: ['a', 'b'] })
  })
})

describe('customer 360 sections', () => {
  it('an error marker is "unavailable" with the reason; anything else is the data', () => {
    expect(section({ error: { status: 503, detail: 'The engagement service is unavailable.' } })).toEqual({
      ok: false,
      status: 503,
      detail: 'The engagement service is unavailable.',
    })
    expect(section([{ id: 'x' }])).toEqual({ ok: true, value: [{ id: 'x' }] })
    expect(section({ items: [], total: 0 })).toEqual({ ok: true, value: { items: [], total: 0 } })
    expect(section(undefined)).toMatchObject({ ok: false })
  })

  const followUp = (id: string, day: string, created: string, extra: Partial<FollowUp> = {}): FollowUp => ({
    id,
    customer_id: 'c',
    contact_id: null,
    occurred_on: day,
    method: 'phone',
    summary: 's',
    feedback: 'neutral',
    outcome: 'continue',
    next_follow_up_at: null,
    follower_id: 'u1',
    follower_name: '李销售',
    source: 'manual',
    created_at: created,
    action_items: [],
    ...extra,
  })

  it('the timeline is newest first (by day, then by when logged)', () => {
    const entries = timeline([
      followUp('a', '2026-11-01', '2026-11-01T01:00:00Z'),
      followUp('b', '2026-11-03', '2026-11-03T01:00:00Z'),
      followUp('c', '2026-11-03', '2026-11-03T05:00:00Z', {
        follower_name: null,
        source: 'system',
        action_items: [{ id: 'i', action: '发报价', assignee_id: 'u1', due_on: null, done: false }],
      }),
    ])
    expect(entries.map((e) => e.id)).toEqual(['c', 'b', 'a'])
    expect(entries[0]).toMatchObject({ who: 'u1', system: true, actions: ['发报价'] })
    expect(entries[1].who).toBe('李销售')
  })

  it.each([
    ['prospect', 'positive', true],
    ['prospect', 'neutral', false],
    ['intent', 'positive', false],
    ['won', 'positive', false],
  ])('a %s customer after %s feedback waits for a change: %s', (lifecycle, feedback, expected) => {
    expect(expectsLifecycleChange(lifecycle, feedback)).toBe(expected)
  })
})

describe('the quick follow-up', () => {
  it('sends the minimum: no empty next date or action items', () => {
    const body = followUpBody('c1', { ...emptyDraft(), summary: '  电话沟通了报价细节，客户有兴趣  ' })
    // Neutral unless the person says otherwise: a positive one changes the customer's lifecycle.
    expect(body).toEqual({ customer_id: 'c1', method: 'phone', feedback: 'neutral', outcome: 'continue', summary: '电话沟通了报价细节，客户有兴趣' })
  })

  it('one action item per line, the next date at 09:00 local time', () => {
    const body = followUpBody('c1', { ...emptyDraft(), summary: 'x', next_on: '2026-12-03', actions: '发报价\n\n 约演示 ' })
    expect(body.action_items).toEqual([{ action: '发报价' }, { action: '约演示' }])
    const next = new Date(body.next_follow_up_at as string)
    expect(next.getHours()).toBe(9)
    expect(next.getDate()).toBe(3)
  })

  it('puts the API field messages on the form fields', () => {
    expect(
      followUpFieldErrors({ summary: 'too short', next_follow_up_at: 'in the past', 'action_items.0.action': 'empty', 'action_items.1.due_on': 'bad' }),
    ).toEqual({ summary: 'too short', next_on: 'in the past', actions: 'empty; bad' })
  })
})

describe('import report', () => {
  it.each([
    ['tags: not administered tags: 外星人', 'tags', 'not administered tags: 外星人'],
    ['credit_code: Value error, must be 18 characters', 'credit_code', 'Value error, must be 18 characters'],
    ['客户名称: 必填', '客户名称', '必填'],
    ['The row is empty.', '', 'The row is empty.'],
  ])('%s', (reason, field, message) => {
    expect(splitReason(reason)).toEqual({ field, message })
  })

  it('one line per (row, field, message); valid rows without warnings drop out', () => {
    const lines = importMessages([
      { row: 2, name: 'A', status: 'valid', reasons: [] },
      { row: 3, name: 'B', status: 'error', reasons: ['industry: \'x\' is not an administered industry', 'name: Field required'] },
      { row: 4, name: 'C', status: 'valid', reasons: [], warnings: ['name: looks like CRM2026001'] },
      { row: 5, name: 'D', status: 'duplicate', reasons: [] },
    ])
    expect(lines.map((l) => [l.row, l.field, l.level])).toEqual([
      [3, 'industry', 'error'],
      [3, 'name', 'error'],
      [4, 'name', 'warning'],
      [5, '', 'error'],
    ])
  })
})

describe('grading preview', () => {
  const indicators = [
    { id: 'spend', weight: '25.00', max_score: '100.00' },
    { id: 'years', weight: '15.00', max_score: '100.00' },
    { id: 'depth', weight: '20.00', max_score: '100.00' },
    { id: 'satisfaction', weight: '15.00', max_score: '100.00' },
    { id: 'potential', weight: '15.00', max_score: '100.00' },
    { id: 'credit', weight: '10.00', max_score: '100.00' },
  ]
  const policy = { grade_a_min: '85.00', grade_b_min: '60.00' }

  it.each([
    [{ spend: 100, years: 100, depth: 100, satisfaction: 100, potential: 100, credit: 100 }, 100, 'A'],
    [{ spend: 85, years: 85, depth: 85, satisfaction: 85, potential: 85, credit: 85 }, 85, 'A'],
    [{ spend: 60, years: 60, depth: 60, satisfaction: 60, potential: 60, credit: 59.99 }, 60, 'B'],
    [{ spend: 0, years: 0, depth: 0, satisfaction: 0, potential: 0, credit: 0 }, 0, 'C'],
    [{ spend: 90, years: 50, depth: 70, satisfaction: 80, potential: 60, credit: 100 }, 75, 'B'],
  ])('%o → %d %s', (scores, total, grade) => {
    expect(gradePreview(indicators, scores, policy)).toEqual({ total, grade, complete: true })
  })

  it('a missing score counts as 0 and marks the preview incomplete; no policy, no grade', () => {
    expect(gradePreview(indicators, { spend: 100 }, null)).toEqual({ total: 25, grade: null, complete: false })
  })

  it('scales by each indicator\'s maximum', () => {
    expect(gradePreview([{ id: 'a', weight: '1', max_score: '5' }], { a: 4 }, policy).total).toBe(80)
  })
})

describe('labels', () => {
  const options = [{ code: 'intent', 'zh-CN': '意向客户', en: 'Intent' }]
  it.each([
    ['intent', 'zh-CN', '意向客户'],
    ['intent', 'en', 'Intent'],
    ['won', 'en', 'won'],
    [null, 'en', '—'],
  ])('%s in %s → %s', (code, locale, label) => {
    expect(labelOf(options, code, locale)).toBe(label)
  })
})
