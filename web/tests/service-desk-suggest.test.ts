import { describe, expect, it } from 'vitest'
import { suggestionText } from '@/pages/service-desk/suggest'

describe('the text the suggestions are asked for', () => {
  it.each([
    ['', '', ''],
    ['  ', ' a ', ''],
    ['打印', '', '打印'],
    ['VPN', '  cannot connect  ', 'VPN\ncannot connect'],
    ['', '进纸轮卡纸', '进纸轮卡纸'],
  ])('%j + %j → %j', (title, description, expected) => {
    expect(suggestionText(title, description)).toBe(expected)
  })

  it('stays within the API limit', () => {
    expect(suggestionText('x'.repeat(1500), 'y'.repeat(1500))).toHaveLength(2000)
  })
})
