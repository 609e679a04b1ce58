// Why: the reports' figures as chart options and table rows, from the API's answers; pure,
// so the numbers a chart draws are tested against the numbers the table shows.

export interface Row {
  key: string
  label: string
  [column: string]: string | number | null
}

type Label = (code: string) => string

/** A vertical bar chart of one series over categories. */
export function barOption(categories: string[], values: number[], name: string, options: { percent?: boolean } = {}) {
  return {
    tooltip: { trigger: 'axis' },
    grid: { left: 8, right: 16, top: 24, bottom: 8, containLabel: true },
    xAxis: { type: 'category', data: categories, axisLabel: { interval: 0, rotate: categories.length > 5 ? 30 : 0 } },
    yAxis: { type: 'value', ...(options.percent ? { max: 100, axisLabel: { formatter: '{value}%' } } : {}) },
    series: [{ type: 'bar', name, data: values, barMaxWidth: 40, label: { show: true, position: 'top' } }],
  }
}

export function pieOption(items: Array<{ name: string; value: number }>, name: string) {
  return {
    tooltip: { trigger: 'item' },
    legend: { bottom: 0, type: 'scroll' },
    series: [{ type: 'pie', name, radius: ['35%', '65%'], data: items.filter((i) => i.value > 0), label: { formatter: '{b}: {c}' } }],
  }
}

export function funnelOption(items: Array<{ name: string; value: number }>, name: string) {
  return {
    tooltip: { trigger: 'item' },
    series: [{ type: 'funnel', name, sort: 'none', left: '10%', width: '80%', data: items, label: { formatter: '{b}: {c}' } }],
  }
}

/** Decimal string or number → number (for drawing; tables keep the API's text). */
export function num(value: string | number | null | undefined): number {
  if (value === null || value === undefined || value === '') return 0
  const n = typeof value === 'number' ? value : Number(value)
  return Number.isFinite(n) ? n : 0
}

/** A rate of 4 places ("0.6667") as a percent with one place (66.7); null stays null. */
export function percent(rate: string | number | null | undefined): number | null {
  if (rate === null || rate === undefined || rate === '') return null
  return Math.round(num(rate) * 1000) / 10
}

// --- pipeline (engagement analytics) ---

export interface StageFigureIn {
  stage: string
  count: number
  expected_amount: string
  weighted_amount: string
}

export function pipelineRows(stages: StageFigureIn[], label: Label): Row[] {
  return stages.map((s) => ({ key: s.stage, label: label(s.stage), count: s.count, amount: s.expected_amount, weighted: s.weighted_amount }))
}

export function pipelineChart(stages: StageFigureIn[], label: Label, name: string) {
  return barOption(
    stages.map((s) => label(s.stage)),
    stages.map((s) => num(s.expected_amount)),
    name,
  )
}

export interface ConversionIn {
  from_stage: string
  to_stage: string
  reached_from: number
  reached_to: number
  rate: string | null
}

/** The funnel's steps: how many reached each stage of initial_contact → … → won. */
export function funnelSteps(conversions: ConversionIn[], label: Label): Array<{ key: string; name: string; value: number; rate: number | null }> {
  if (conversions.length === 0) return []
  const first = conversions[0]
  return [
    { key: first.from_stage, name: label(first.from_stage), value: first.reached_from, rate: null },
    ...conversions.map((c) => ({ key: c.to_stage, name: label(c.to_stage), value: c.reached_to, rate: percent(c.rate) })),
  ]
}

export function lostReasonRows(reasons: Record<string, number>, label: Label): Row[] {
  return Object.entries(reasons).map(([code, count]) => ({ key: code, label: label(code), count }))
}

// --- customers ---

export interface MonthRange {
  key: string
  from: string
  to: string
}

/** The last `n` calendar months up to the one of `now` (local), oldest first, as UTC bounds. */
export function lastMonths(n: number, now: Date = new Date()): MonthRange[] {
  const out: MonthRange[] = []
  for (let i = n - 1; i >= 0; i--) {
    const start = new Date(now.getFullYear(), now.getMonth() - i, 1)
    const next = new Date(now.getFullYear(), now.getMonth() - i + 1, 1)
    const key = `${start.getFullYear()}-${String(start.getMonth() + 1).padStart(2, '0')}`
    out.push({ key, from: start.toISOString(), to: new Date(next.getTime() - 1000).toISOString() })
  }
  return out
}

// --- service desk ---

export interface SlaKindIn {
  kind: string
  clocks: number
  met: number
  breached: number
  running: number
  paused: number
  compliance_percent: number | null
}

export function slaRows(clocks: SlaKindIn[], label: Label): Row[] {
  return clocks.map((c) => ({
    key: c.kind,
    label: label(c.kind),
    clocks: c.clocks,
    met: c.met,
    breached: c.breached,
    compliance: c.compliance_percent === null ? null : Math.round(c.compliance_percent * 10) / 10,
  }))
}

export interface CsatIn {
  answers: number
  average_score: number | null
  csat_percent: number | null
}

export function csatRows(byAgent: Record<string, CsatIn>, name: (id: string) => string): Row[] {
  return Object.entries(byAgent).map(([agent, c]) => ({
    key: agent,
    label: name(agent),
    answers: c.answers,
    average: c.average_score === null ? null : Math.round(c.average_score * 100) / 100,
    csat: c.csat_percent === null ? null : Math.round(c.csat_percent * 10) / 10,
  }))
}

export interface CauseIn {
  cause: string
  count: number
  resolved: number
  avg_hours_to_resolve: number | null
}

export function causeRows(causes: CauseIn[], label: Label): Row[] {
  return causes.map((c) => ({
    key: c.cause,
    label: label(c.cause),
    count: c.count,
    resolved: c.resolved,
    hours: c.avg_hours_to_resolve === null ? null : Math.round(c.avg_hours_to_resolve * 10) / 10,
  }))
}

/** A bar chart of one numeric column of rows (null drawn as 0). */
export function rowsChart(rows: Row[], column: string, name: string, options: { percent?: boolean } = {}) {
  return barOption(
    rows.map((r) => r.label),
    rows.map((r) => num(r[column] as number | string | null)),
    name,
    options,
  )
}
