// Why: what the knowledge-base suggestions are asked for while a ticket is typed: the title
// and description together, trimmed, only once there is something to go on, and within the
// API's 2,000 characters.
export const MIN_CHARS = 2
export const MAX_CHARS = 2000

export function suggestionText(title: string, description: string): string {
  const text = [title, description].map((s) => s.trim()).filter(Boolean).join('\n')
  if (text.length < MIN_CHARS) return ''
  return text.slice(0, MAX_CHARS)
}
