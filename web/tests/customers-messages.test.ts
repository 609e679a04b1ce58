// Every word of the customers area exists in both languages, and every key the pages use
// (t('customers.…') with a literal key) is there.
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import messages from '@/pages/customers/messages'

type Tree = { [key: string]: string | Tree }

function keys(tree: Tree, prefix = ''): string[] {
  return Object.entries(tree).flatMap(([key, value]) =>
    typeof value === 'string' ? [`${prefix}${key}`] : keys(value, `${prefix}${key}.`),
  )
}

const zh = keys(messages['zh-CN'] as unknown as Tree)
const en = keys(messages.en as unknown as Tree)
const dir = join(__dirname, '..', 'src', 'pages', 'customers')
const used = new Set<string>()
for (const file of readdirSync(dir).filter((f) => f.endsWith('.vue') || f.endsWith('.ts'))) {
  const source = readFileSync(join(dir, file), 'utf8')
  for (const match of source.matchAll(/\bt\(\s*'(customers\.[A-Za-z0-9_.]+)'/g)) used.add(match[1])
}

describe('customers messages', () => {
  it('zh-CN and English have the same keys', () => {
    expect(en.filter((k) => !zh.includes(k))).toEqual([])
    expect(zh.filter((k) => !en.includes(k))).toEqual([])
  })

  it('the pages use keys that exist', () => {
    expect(used.size).toBeGreaterThan(50)
    expect([...used].filter((k) => !zh.includes(k))).toEqual([])
  })

  it.each(['name', 'credit_code', 'kind'])('names the key field %s a change request may hold', (field) => {
    expect(zh).toContain(`customers.field.${field}`)
  })

  it.each(['pending', 'approved', 'rejected', 'withdrawn'])('labels the change request status %s', (status) => {
    expect(zh).toContain(`customers.cr.statuses.${status}`)
  })
})
