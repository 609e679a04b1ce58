// Why: each service parks the events its consumers gave up on; an admin lists them per
// service and replays some or all (those still failing stay parked, with the reason).
export const SERVICES = ['customers', 'engagement', 'service-desk', 'notifier'] as const
export type Service = (typeof SERVICES)[number]

export interface ParkedEvent {
  message_id: string
  event_type: string | null
  attempts: number
  error: string | null
  parked_at: string | null
  body: Record<string, unknown> | string
}

export interface ReplayResult {
  replayed: string[]
  failed: Record<string, string>
}

export const parkedPath = (service: Service) => `/api/v1/admin/${service}/parked-events`

/** The replay call's body: the ids chosen, or none at all (every parked event). */
export function replayBody(chosen: readonly string[] | null): { message_ids?: string[] } {
  return chosen === null ? {} : { message_ids: [...chosen] }
}

/** "3 replayed, 1 still parked: <id>: <why>" as parts for the message. */
export function replaySummary(result: ReplayResult): { replayed: number; failed: Array<[string, string]> } {
  return { replayed: result.replayed.length, failed: Object.entries(result.failed) }
}
