import { describe, expect, it } from 'vitest'
import { causeRows, csatRows, funnelSteps, lastMonths, lostReasonRows, num, percent, pipelineChart, pipelineRows, rowsChart, slaRows } from '@/pages/reports/series'

const label = (code: string) => code.toUpperCase()

describe('numbers', () => {
  it.each([
    ['0.6667', 66.7],
    ['1.0000', 100],
    [0.5, 50],
    [null, null],
  ])('percent(%j) = %j', (rate, value) => {
    expect(percent(rate)).toBe(value)
  })

  it.each([
    ['120000.50', 120000.5],
    ['', 0],
    [null, 0],
    ['x', 0],
  ])('num(%j) = %j', (text, value) => {
    expect(num(text)).toBe(value)
  })
})

describe('pipeline', () => {
  const stages = [
    { stage: 'proposal', count: 2, expected_amount: '300.00', weighted_amount: '150.00' },
    { stage: 'won', count: 1, expected_amount: '1000.00', weighted_amount: '1000.00' },
  ]
  it('the chart draws what the table shows', () => {
    const rows = pipelineRows(stages, label)
    const chart = pipelineChart(stages, label, 'amount')
    expect(rows.map((r) => [r.label, r.count, r.amount])).toEqual([
      ['PROPOSAL', 2, '300.00'],
      ['WON', 1, '1000.00'],
    ])
    expect(chart.xAxis.data).toEqual(['PROPOSAL', 'WON'])
    expect(chart.series[0].data).toEqual([300, 1000])
  })

  it('the funnel: reached of the first step, then of each next', () => {
    const steps = funnelSteps(
      [
        { from_stage: 'initial_contact', to_stage: 'needs_analysis', reached_from: 4, reached_to: 3, rate: '0.7500' },
        { from_stage: 'needs_analysis', to_stage: 'won', reached_from: 3, reached_to: 1, rate: '0.3333' },
      ],
      label,
    )
    expect(steps.map((s) => [s.key, s.value, s.rate])).toEqual([
      ['initial_contact', 4, null],
      ['needs_analysis', 3, 75],
      ['won', 1, 33.3],
    ])
    expect(funnelSteps([], label)).toEqual([])
  })

  it('every lost reason is a row', () => {
    expect(lostReasonRows({ budget: 0, competitor: 2 }, label)).toEqual([
      { key: 'budget', label: 'BUDGET', count: 0 },
      { key: 'competitor', label: 'COMPETITOR', count: 2 },
    ])
  })
})

describe('months', () => {
  it('the last n months, oldest first, across a year', () => {
    const months = lastMonths(3, new Date(2026, 0, 15))
    expect(months.map((m) => m.key)).toEqual(['2025-11', '2025-12', '2026-01'])
    expect(new Date(months[2].from).getTime()).toBe(new Date(2026, 0, 1).getTime())
    expect(new Date(months[2].to).getTime()).toBe(new Date(2026, 1, 1).getTime() - 1000)
  })
})

describe('service desk', () => {
  it('SLA rows round the compliance, keep null', () => {
    const rows = slaRows(
      [
        { kind: 'resolve', clocks: 3, met: 2, breached: 1, running: 0, paused: 0, compliance_percent: 66.6667 },
        { kind: 'assign', clocks: 1, met: 0, breached: 0, running: 1, paused: 0, compliance_percent: null },
      ],
      label,
    )
    expect(rows.map((r) => [r.label, r.compliance])).toEqual([
      ['RESOLVE', 66.7],
      ['ASSIGN', null],
    ])
    const chart = rowsChart(rows, 'compliance', 'c', { percent: true })
    expect(chart.series[0].data).toEqual([66.7, 0])
    expect(chart.yAxis).toMatchObject({ max: 100 })
  })

  it('CSAT per agent by name', () => {
    const rows = csatRows({ a1: { answers: 4, average_score: 4.25, csat_percent: 75 } }, (id) => `name-${id}`)
    expect(rows).toEqual([{ key: 'a1', label: 'name-a1', answers: 4, average: 4.25, csat: 75 }])
  })

  it('complaint causes with hours to resolve', () => {
    expect(causeRows([{ cause: '', count: 2, resolved: 1, avg_hours_to_resolve: 3.456 }], (c) => c || 'none')).toEqual([
      { key: '', label: 'none', count: 2, resolved: 1, hours: 3.5 },
    ])
  })
})
