import { describe, expect, it } from 'vitest'
import { formOf, hasChanges, patchOf, type EngagementSettings } from '@/pages/admin/reminders'
import { rowProblems, toRows, toTargets, weeklyText, type SlaRow } from '@/pages/admin/sla'
import { factsSkeleton, kindsOf, parseFacts, previewBody, type Template } from '@/pages/admin/templates'
import { back, current, firstPage, forward, pageNumber, received, rowRange } from '@/pages/admin/paging'

const settings: EngagementSettings = {
  version: 3,
  reminder_hour: 9,
  timezone: 'Asia/Shanghai',
  summary_min_length: 10,
  cadence_days: { A: 7, B: 14, C: 30 },
  plan_templates: {},
  plan_horizon_months: 12,
  first_follow_up_hours: 48,
  updated_by: null,
  updated_at: null,
}

describe('reminder settings', () => {
  it('sends only what changed, with the version read', () => {
    const form = formOf(settings)
    expect(hasChanges(patchOf(settings, form))).toBe(false)
    form.reminder_hour = 8
    form.cadence_days.B = 10
    expect(patchOf(settings, form)).toEqual({ version: 3, reminder_hour: 8, cadence_days: { B: 10 } })
  })
  it('a cleared cadence box is not sent', () => {
    const form = formOf(settings)
    form.cadence_days.A = null
    expect(patchOf(settings, form)).toEqual({ version: 3 })
  })
})

describe('SLA targets in hours', () => {
  const api = [
    { priority: 'high', ticket_type: null, assign_minutes: 30, first_response_minutes: 60, resolve_minutes: 480 },
    { priority: null, ticket_type: null, assign_minutes: 120, first_response_minutes: 240, resolve_minutes: 2880 },
    { priority: 'high', ticket_type: 'complaint', assign_minutes: null, first_response_minutes: 15, resolve_minutes: null },
  ]
  it('puts the default first and converts minutes to hours and back', () => {
    const rows = toRows(api)
    expect(rows.map((r) => [r.priority, r.ticket_type])).toEqual([[null, null], ['high', null], ['high', 'complaint']])
    expect(rows[1]).toEqual({ priority: 'high', ticket_type: null, assign: 0.5, first_response: 1, resolve: 8 })
    expect(toTargets(rows)).toEqual([api[1], api[0], api[2]])
  })
  it.each<[SlaRow[], string[]]>([
    [[{ priority: null, ticket_type: null, assign: 1, first_response: 2, resolve: 3 }], []],
    [[{ priority: null, ticket_type: null, assign: 1, first_response: null, resolve: 3 }], ['default-incomplete']],
    [[{ priority: 'low', ticket_type: null, assign: 1, first_response: null, resolve: null }], ['no-default']],
    [
      [
        { priority: null, ticket_type: null, assign: 1, first_response: 2, resolve: 3 },
        { priority: 'low', ticket_type: null, assign: null, first_response: null, resolve: null },
        { priority: 'low', ticket_type: null, assign: 1, first_response: null, resolve: null },
      ],
      ['empty', 'duplicate'],
    ],
  ])('problems of %j', (rows, problems) => {
    expect(rowProblems(rows).map((p) => p.problem)).toEqual(problems)
  })
  it('a fraction of an hour still becomes at least a minute', () => {
    expect(toTargets([{ priority: null, ticket_type: null, assign: 0.001, first_response: 1.5, resolve: null }])[0]).toMatchObject({
      assign_minutes: 1,
      first_response_minutes: 90,
      resolve_minutes: null,
    })
  })
  it('weekly hours as text', () => {
    expect(weeklyText({ mon: [['09:00:00', '12:00:00'], ['13:00', '18:00']] })).toMatchObject({ mon: '09:00–12:00, 13:00–18:00', sun: '' })
  })
})

describe('template preview data', () => {
  it.each([
    ['', { ok: true, facts: null, unknown: [] }],
    ['{"code": "T-9", "bogus": 1, "link": "x"}', { ok: true, facts: { code: 'T-9', bogus: 1, link: 'x' }, unknown: ['bogus'] }],
    ['{code: 1}', { ok: false, error: 'not-json' }],
    ['[1, 2]', { ok: false, error: 'not-object' }],
    ['"text"', { ok: false, error: 'not-object' }],
  ])('%j', (text, expected) => {
    expect(parseFacts(text, ['code', 'title'])).toEqual(expected)
  })
  it('sends the draft only when it differs, and the facts when given', () => {
    const saved = { subject: 'S', body: 'B' }
    expect(previewBody(saved, { subject: 'S', body: 'B' }, null)).toEqual({})
    expect(previewBody(saved, { subject: 'S2', body: 'B' }, { code: 1 })).toEqual({ subject: 'S2', facts: { code: 1 } })
  })
  it('a skeleton names every fact', () => {
    expect(JSON.parse(factsSkeleton(['code', 'title']))).toEqual({ code: '', title: '' })
  })
  it('kinds once each with their labels', () => {
    const t = (kind: string, locale: string, label: string) => ({ kind, locale, label }) as Template
    expect(kindsOf([t('survey', 'zh-CN', '调查'), t('survey', 'en', 'Survey'), t('message', 'en', 'Message')])).toEqual([
      { kind: 'survey', labels: { 'zh-CN': '调查', en: 'Survey' } },
      { kind: 'message', labels: { en: 'Message' } },
    ])
  })
})

describe('cursor paging', () => {
  it('goes forward with the cursor given, back through the ones seen', () => {
    let s = firstPage()
    expect(current(s)).toBeNull()
    expect(forward(s)).toBe(s) // no next page yet
    s = received(s, 'c2')
    s = forward(s)
    expect([current(s), pageNumber(s), s.next]).toEqual(['c2', 2, null])
    expect(rowRange(s, 50, 23)).toEqual({ from: 51, to: 73 })
    s = back(s)
    expect([current(s), pageNumber(s)]).toEqual([null, 1])
    expect(back(s)).toBe(s)
    expect(rowRange(s, 50, 0)).toEqual({ from: 0, to: 0 })
  })
})
