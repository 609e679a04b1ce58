// Why: the ticket queue's views and filters kept in the URL (a reload or a shared link shows
// the same list), turned into the list call's query; and whom a pending ticket goes to.
import type { LocationQuery } from 'vue-router'
import { queryOneOf, queryPage, queryText } from '@/urlQuery'
import { hasRole } from '@/roles'
import { PRIORITIES, STATUSES, TICKET_TYPES, type Agent, type Priority, type TicketStatus, type TicketType } from './types'

export type QueueView = 'mine' | 'open' | 'to-assign' | 'all'
export const VIEWS: QueueView[] = ['mine', 'open', 'to-assign', 'all']

export interface QueueFilters {
  view: QueueView
  status: TicketStatus | 'open' | ''
  type: TicketType | ''
  priority: Priority | ''
  q: string
  page: number
}

/** The views a person has: "mine" for service staff, the to-assign list for supervisors. */
export function viewsFor(roles: readonly string[]): QueueView[] {
  const staff = hasRole(roles, 'admin', 'service_supervisor', 'service_agent')
  const supervisor = hasRole(roles, 'admin', 'service_supervisor')
  return VIEWS.filter((v) => (v === 'mine' ? staff : v === 'to-assign' ? supervisor : true))
}

export function defaultView(roles: readonly string[]): QueueView {
  if (hasRole(roles, 'admin', 'service_supervisor')) return 'to-assign'
  if (hasRole(roles, 'service_agent')) return 'mine'
  return 'open'
}

export function filtersFromQuery(query: LocationQuery, roles: readonly string[]): QueueFilters {
  const views = viewsFor(roles)
  const view = queryOneOf(query.view, views) || defaultView(roles)
  return {
    view: views.includes(view) ? view : views[0],
    status: queryOneOf(query.status, [...STATUSES, 'open'] as const),
    type: queryOneOf(query.type, TICKET_TYPES),
    priority: queryOneOf(query.priority, PRIORITIES),
    q: queryText(query.q).trim(),
    page: queryPage(query.page),
  }
}

/** Only what differs from the defaults, so the URL stays short. */
export function queryFromFilters(f: QueueFilters, roles: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {}
  if (f.view !== defaultView(roles)) out.view = f.view
  if (f.status && f.view !== 'to-assign') out.status = f.status
  if (f.type) out.type = f.type
  if (f.priority) out.priority = f.priority
  if (f.q) out.q = f.q
  if (f.page > 1) out.page = String(f.page)
  return out
}

/** The list call's query (GET /api/v1/tickets) for these filters. */
export function apiQuery(f: QueueFilters): Record<string, string | number> {
  const out: Record<string, string | number> = { page: f.page }
  if (f.view === 'to-assign') {
    out.status = 'pending_assignment'
    out.order = 'queue'
  } else {
    if (f.view === 'mine') out.assignee_id = 'me'
    const status = f.status || (f.view === 'all' ? '' : 'open')
    if (status) out.status = status
    if (f.view === 'open') out.order = 'queue'
  }
  if (f.type) out.ticket_type = f.type
  if (f.priority) out.priority = f.priority
  if (f.q) out.q = f.q
  return out
}

/** The agents who may take a ticket of this type and team, the best choice first: fewest
 *  open tickets, then the one given a ticket longest ago (as the least-busy strategy picks). */
export function candidatesFor(agents: readonly Agent[], ticket: { ticket_type: TicketType; team_key: string }): Agent[] {
  return agents
    .filter((a) => a.active && a.team_key === ticket.team_key && a.ticket_types.includes(ticket.ticket_type))
    .sort(
      (a, b) =>
        a.open_tickets - b.open_tickets ||
        (a.last_assigned_at ?? '').localeCompare(b.last_assigned_at ?? '') ||
        a.display_name.localeCompare(b.display_name),
    )
}
