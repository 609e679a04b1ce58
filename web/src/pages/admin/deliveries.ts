// Why: one reading of a webhook delivery (and a parked event) for the tables: its status
// as a tag, whether it may be sent again, and the last attempt in a line.
export type DeliveryStatus = 'pending' | 'delivered' | 'failed'

export interface WebhookDelivery {
  id: string
  subscription_id: string
  event_id: string
  event_type: string
  status: DeliveryStatus
  attempts: number
  next_attempt_at: string
  last_error: string | null
  response_status: number | null
  delivered_at: string | null
  created_at: string
  log: Array<Record<string, unknown>>
  payload: Record<string, unknown>
}

export type TagType = 'success' | 'warning' | 'danger' | 'info'

export function statusTag(status: string): TagType {
  switch (status) {
    case 'delivered':
      return 'success'
    case 'pending':
      return 'warning'
    case 'failed':
      return 'danger'
    default:
      return 'info'
  }
}

/** The notifier replays a delivered or failed delivery; a pending one is still on its way. */
export function canRedeliver(delivery: Pick<WebhookDelivery, 'status'>): boolean {
  return delivery.status === 'delivered' || delivery.status === 'failed'
}

/** "HTTP 500 · timeout" / "HTTP 200" / "—": what the partner last answered. */
export function lastAnswer(delivery: Pick<WebhookDelivery, 'response_status' | 'last_error'>): string {
  const parts: string[] = []
  if (delivery.response_status !== null && delivery.response_status !== undefined) parts.push(`HTTP ${delivery.response_status}`)
  if (delivery.last_error) parts.push(delivery.last_error)
  return parts.length ? parts.join(' · ') : '—'
}

/** The log's attempts in a readable line each ("#1 200 35 ms", "#2 timeout", "replay by …"). */
export function attemptLines(log: ReadonlyArray<Record<string, unknown>>): string[] {
  return log.map((entry) => {
    if (entry.replay_by) return `↻ ${String(entry.at ?? '')} ${String(entry.replay_by)}`
    const bits = [`#${String(entry.attempt ?? '?')}`]
    if (entry.status !== undefined && entry.status !== null) bits.push(String(entry.status))
    if (entry.error) bits.push(String(entry.error))
    if (entry.ms !== undefined && entry.ms !== null) bits.push(`${String(entry.ms)} ms`)
    return bits.join(' ')
  })
}

/** Event-type patterns typed one per line or comma-separated, as the API wants them. */
export function parsePatterns(text: string): string[] {
  return [...new Set(text.split(/[\s,，]+/).map((p) => p.trim()).filter(Boolean))]
}

export interface Subscription {
  id: string
  partner: string
  url: string
  event_types: string[]
  active: boolean
  disabled_at: string | null
  disabled_reason: string | null
  consecutive_failures: number
  first_failure_at: string | null
  created_by: string
  created_at: string
  updated_at: string
  version: number
}
