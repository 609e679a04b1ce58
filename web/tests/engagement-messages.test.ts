import { describe, expect, it } from 'vitest'
import engagement from '@/pages/engagement/messages'
import reports from '@/pages/reports/messages'
import { LOST_REASONS, STAGES } from '@/pages/engagement/stages'
import { METHODS, OUTCOMES } from '@/pages/engagement/types'

function keys(tree: unknown, prefix = ''): string[] {
  if (typeof tree !== 'object' || tree === null) return [prefix]
  return Object.entries(tree).flatMap(([k, v]) => keys(v, prefix ? `${prefix}.${k}` : k))
}

describe('every word in both languages', () => {
  it.each([
    ['engagement', engagement],
    ['reports', reports],
  ])('%s: zh-CN and en have the same keys', (_name, messages) => {
    expect(keys(messages.en).sort()).toEqual(keys(messages['zh-CN']).sort())
  })

  it('every stage, lost reason, method and outcome has a label', () => {
    const zh = engagement['zh-CN'].engagement
    expect(Object.keys(zh.stage)).toEqual(STAGES)
    expect(Object.keys(zh.lostReason)).toEqual(LOST_REASONS)
    for (const m of METHODS) expect(zh.method).toHaveProperty(m)
    for (const o of OUTCOMES) expect(zh.outcome).toHaveProperty(o)
  })
})
