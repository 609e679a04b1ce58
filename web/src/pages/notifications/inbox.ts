// Why: an inbox entry links to the console page of what it is about (the notifier makes the
// link from its CRM_CONSOLE_URL: /tickets/<id>, /customers/<id> …); one without a link opens
// the list of its kind of record; a link elsewhere opens as a link.
export interface Notification {
  id: string
  kind: string
  category: string
  urgent: boolean
  subject: string
  body: string
  link: string | null
  event_type: string | null
  created_at: string
  read_at: string | null
}

export interface InboxPage {
  items: Notification[]
  total: number
  unread: number
  page: number
  page_size: number
}

export const PAGE_SIZE = 50

export type Target = { route: string } | { href: string } | null

const BY_KIND: Record<string, string> = {
  reminder: '/follow-ups',
  ticket_assigned: '/tickets',
  sla_warning: '/tickets',
  sla_breached: '/tickets',
  callback_due: '/tickets',
  owner_changed: '/customers',
  change_request: '/customers/change-requests',
  opportunity_won: '/opportunities',
  webhook_disabled: '/admin/webhooks',
}

const BY_EVENT_PREFIX: Array<[string, string]> = [
  ['ticket.', '/tickets'],
  ['customer.', '/customers'],
  ['opportunity.', '/opportunities'],
  ['change_request.', '/customers/change-requests'],
  ['reminder.', '/follow-ups'],
]

/** Where opening this notification goes: a console route, an outside link, or nowhere. */
export function targetOf(
  n: Pick<Notification, 'kind' | 'event_type' | 'link'>,
  origin: string = typeof window === 'undefined' ? '' : window.location.origin,
): Target {
  if (n.link) {
    // A link into this console (a path, or this origin) opens as a route.
    if (n.link.startsWith('/')) return { route: n.link }
    if (/^https?:\/\//.test(n.link)) {
      const url = new URL(n.link)
      return url.origin === origin ? { route: url.pathname + url.search } : { href: n.link }
    }
  }
  const byKind = BY_KIND[n.kind]
  if (byKind) return { route: byKind }
  const prefix = BY_EVENT_PREFIX.find(([p]) => n.event_type?.startsWith(p))
  return prefix ? { route: prefix[1] } : null
}

/** The ids to mark read: just this one, or none (null: all of mine). */
export function readBody(ids: string[] | null): { ids?: string[] } {
  return ids === null ? {} : { ids }
}

/** After marking read, the page's rows agree without another round trip. */
export function markedRead(items: readonly Notification[], ids: string[] | null, at: string): Notification[] {
  return items.map((n) => (n.read_at === null && (ids === null || ids.includes(n.id)) ? { ...n, read_at: at } : n))
}

/** Quiet hours arrive as "22:00:00"; the time picker and the API both take "HH:mm". */
export function hhmm(value: string | null): string | null {
  return value ? value.slice(0, 5) : null
}

export const CHANNELS = ['inbox', 'email', 'sms', 'wecom', 'dingtalk', 'apprise'] as const

/** The inbox is always on: whatever else is chosen, it stays in the list sent. */
export function withInbox(channels: readonly string[]): string[] {
  return ['inbox', ...channels.filter((c) => c !== 'inbox')]
}
