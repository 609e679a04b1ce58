// Why: a template preview renders through the notifier with its sample facts, overridden by
// what the admin types as JSON; the page checks that JSON before sending and says which names
// the kind does not offer (the notifier would ignore them).
export interface Template {
  kind: string
  locale: string
  label: string
  urgent: boolean
  customised: boolean
  facts: string[]
  subject: string
  body: string
  version: number
  updated_at: string | null
  updated_by: string | null
}

export type FactsParse =
  | { ok: true; facts: Record<string, unknown> | null; unknown: string[] }
  | { ok: false; error: 'not-json' | 'not-object' }

const COMMON = ['recipient_name', 'link']

/** The facts typed (empty: none, the sample facts alone), with the names the kind lacks. */
export function parseFacts(text: string, offered: readonly string[]): FactsParse {
  if (!text.trim()) return { ok: true, facts: null, unknown: [] }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return { ok: false, error: 'not-json' }
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) return { ok: false, error: 'not-object' }
  const names = new Set([...offered, ...COMMON])
  const unknown = Object.keys(value).filter((k) => !names.has(k))
  return { ok: true, facts: value as Record<string, unknown>, unknown }
}

/** A starting point for the facts box: every name the kind offers, with an empty value. */
export function factsSkeleton(offered: readonly string[]): string {
  return JSON.stringify(Object.fromEntries(offered.map((name) => [name, ''])), null, 2)
}

/** What the preview call sends: the unsaved text only when it differs from the saved one. */
export function previewBody(
  saved: Pick<Template, 'subject' | 'body'>,
  draft: { subject: string; body: string },
  facts: Record<string, unknown> | null,
): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  if (draft.subject !== saved.subject) out.subject = draft.subject
  if (draft.body !== saved.body) out.body = draft.body
  if (facts) out.facts = facts
  return out
}

/** The kinds, once each, in the order the notifier lists them. */
export function kindsOf(templates: readonly Template[]): Array<{ kind: string; labels: Record<string, string> }> {
  const out: Array<{ kind: string; labels: Record<string, string> }> = []
  for (const t of templates) {
    let entry = out.find((e) => e.kind === t.kind)
    if (!entry) out.push((entry = { kind: t.kind, labels: {} }))
    entry.labels[t.locale] = t.label
  }
  return out
}
