// Why: the ticket page shows only the actions the service would accept. This mirrors the
// domain's status machine (services/service-desk/.../domain/ticket_status.py: TRANSITIONS and
// decide) and who may do what (domain/access.py, tickets.assign_ticket); the service decides.
import { hasRole } from '@/roles'
import type { TicketStatus } from './types'

export type MachineAction = 'assign' | 'log' | 'wait' | 'resume' | 'resolve' | 'close' | 'reopen'

/** (status, action) → the status after it; a missing pair is refused by the service (409). */
export const TRANSITIONS: Record<TicketStatus, Partial<Record<MachineAction, TicketStatus>>> = {
  pending_assignment: { assign: 'in_progress', log: 'pending_assignment' },
  in_progress: {
    assign: 'in_progress',
    log: 'in_progress',
    wait: 'in_progress',
    resume: 'in_progress',
    resolve: 'resolved',
  },
  resolved: { log: 'resolved', close: 'closed', reopen: 'in_progress' },
  closed: {},
}

/** The status after `action`, or null when the machine refuses it (as `decide` would). */
export function nextStatus(status: TicketStatus, action: MachineAction, waiting = false): TicketStatus | null {
  const after = TRANSITIONS[status]?.[action]
  if (!after) return null
  if (action === 'wait' && waiting) return null
  if (action === 'resume' && !waiting) return null
  return after
}

/** What the page offers: `take` is an agent assigning a pending ticket to themselves,
 *  `contact` a log line recording a contact with the customer (the first response). */
export type TicketAction = 'assign' | 'take' | 'note' | 'contact' | 'wait' | 'resume' | 'resolve' | 'close' | 'reopen'

export interface ActionTicket {
  status: TicketStatus
  waiting_on_customer: boolean
  assignee_id: string | null
}

export interface Who {
  roles: readonly string[]
  userId: string | null
}

const STAFF = ['admin', 'service_supervisor', 'service_agent'] as const
const SUPERVISORS = ['admin', 'service_supervisor'] as const
const OPENERS = ['admin', 'service_supervisor', 'service_agent', 'sales_manager', 'sales_rep'] as const

/** The actions `who` may take on `ticket` now, in the order the page shows them. */
export function allowedActions(ticket: ActionTicket, who: Who): TicketAction[] {
  const staff = hasRole(who.roles, ...STAFF)
  const supervisor = hasRole(who.roles, ...SUPERVISORS)
  const status = ticket.status
  const waiting = ticket.waiting_on_customer
  const out: TicketAction[] = []
  if (nextStatus(status, 'assign')) {
    if (supervisor) out.push('assign')
    else if (staff && status === 'pending_assignment' && who.userId && ticket.assignee_id !== who.userId) out.push('take')
  }
  if (staff && nextStatus(status, 'wait', waiting)) out.push('wait')
  if (staff && nextStatus(status, 'resume', waiting)) out.push('resume')
  if (staff && nextStatus(status, 'resolve')) out.push('resolve')
  if (staff && nextStatus(status, 'close')) out.push('close')
  if (staff && nextStatus(status, 'reopen')) out.push('reopen')
  // Sales staff who see the ticket (their own customer's) may add notes; contacts are service work.
  if (nextStatus(status, 'log') && hasRole(who.roles, ...OPENERS)) out.push('note')
  if (staff && nextStatus(status, 'log')) out.push('contact')
  return out
}

/** Who may open tickets (a viewer reads only). */
export function canOpenTickets(roles: readonly string[]): boolean {
  return hasRole(roles, ...OPENERS)
}

export function isServiceStaff(roles: readonly string[]): boolean {
  return hasRole(roles, ...STAFF)
}
