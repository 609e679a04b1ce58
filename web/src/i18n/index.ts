// Why: zh-CN by default, English on request; the choice is kept in this browser.
import { createI18n } from 'vue-i18n'
import common from './common'

export type Locale = 'zh-CN' | 'en'
export const LOCALES: Locale[] = ['zh-CN', 'en']
const STORAGE_KEY = 'crm.locale'

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- message trees are nested words
type Messages = Record<Locale, Record<string, any>>

/** Every area's messages (pages/<area>/messages.ts, default export), merged under its keys. */
export function mergeMessages(...parts: Messages[]): Messages {
  const out: Messages = { 'zh-CN': {}, en: {} }
  for (const part of parts) for (const locale of LOCALES) Object.assign(out[locale], part[locale])
  return out
}

const areas = Object.values(import.meta.glob<{ default: Messages }>('../pages/*/messages.ts', { eager: true })).map(
  (m) => m.default,
)

export function storedLocale(): Locale {
  const saved = typeof localStorage !== 'undefined' ? localStorage.getItem(STORAGE_KEY) : null
  return saved === 'en' ? 'en' : 'zh-CN'
}

export const i18n = createI18n({
  legacy: false,
  locale: storedLocale(),
  fallbackLocale: 'zh-CN',
  messages: mergeMessages(common, ...areas) as never,
})

export function setLocale(locale: Locale): void {
  (i18n.global.locale as unknown as { value: string }).value = locale
  localStorage.setItem(STORAGE_KEY, locale)
  document.documentElement.lang = locale
}
