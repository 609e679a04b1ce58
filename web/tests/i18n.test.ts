// Every word the console shows comes from vue-i18n in both languages: the two message trees
// have the same keys, and every literal key the source code asks for exists.
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { i18n } from '@/i18n'

type Tree = Record<string, unknown>

function keys(tree: Tree, prefix = ''): string[] {
  return Object.entries(tree).flatMap(([key, value]) =>
    value && typeof value === 'object' ? keys(value as Tree, `${prefix}${key}.`) : [`${prefix}${key}`],
  )
}

function has(tree: Tree, path: string): boolean {
  let node: unknown = tree
  for (const part of path.split('.')) {
    if (!node || typeof node !== 'object' || !(part in (node as Tree))) return false
    node = (node as Tree)[part]
  }
  return typeof node === 'string'
}

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) return sources(path)
    return /\.(vue|ts)$/.test(name) ? [path] : []
  })
}

const messages = i18n.global.messages.value as unknown as Record<'zh-CN' | 'en', Tree>

describe('messages', () => {
  it('zh-CN and English have the same keys', () => {
    const zh = keys(messages['zh-CN']).sort()
    const en = keys(messages.en).sort()
    expect(zh.filter((k) => !en.includes(k))).toEqual([])
    expect(en.filter((k) => !zh.includes(k))).toEqual([])
  })

  it('every literal key the code uses exists in both languages', () => {
    const root = join(__dirname, '..', 'src')
    const used = new Set<string>()
    const pattern = /(?:\bt|\$t|\bte)\(\s*['"]([A-Za-z][\w-]*(?:\.[\w-]+)+)['"]/g
    const labels = /\blabel:\s*['"]([A-Za-z][\w-]*(?:\.[\w-]+)+)['"]/g
    for (const file of sources(root)) {
      const text = readFileSync(file, 'utf8')
      for (const match of text.matchAll(pattern)) used.add(match[1])
      if (/routes\.ts$/.test(file)) for (const match of text.matchAll(labels)) used.add(match[1])
    }
    const missing = [...used].filter((key) => !has(messages['zh-CN'], key) || !has(messages.en, key))
    expect(missing).toEqual([])
  })
})
