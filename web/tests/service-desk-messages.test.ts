import { describe, expect, it } from 'vitest'
import desk from '@/pages/service-desk/messages'
import survey from '@/pages/survey/messages'

function keys(tree: unknown, prefix = ''): string[] {
  if (typeof tree !== 'object' || tree === null) return [prefix]
  return Object.entries(tree).flatMap(([k, v]) => keys(v, prefix ? `${prefix}.${k}` : k)).sort()
}

describe('every word in both languages', () => {
  it.each([
    ['service desk', desk],
    ['survey', survey],
  ] as const)('%s', (_, messages) => {
    expect(keys(messages.en)).toEqual(keys(messages['zh-CN']))
  })
})
