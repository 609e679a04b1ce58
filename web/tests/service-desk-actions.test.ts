import { describe, expect, it } from 'vitest'
import { allowedActions, nextStatus, type MachineAction } from '@/pages/service-desk/ticketActions'
import type { TicketStatus } from '@/pages/service-desk/types'

// Every (status, action) pair, as domain/ticket_status.py's TRANSITIONS and decide() answer.
const MACHINE: Array<[TicketStatus, MachineAction, boolean, TicketStatus | null]> = [
  ['pending_assignment', 'assign', false, 'in_progress'],
  ['pending_assignment', 'log', false, 'pending_assignment'],
  ['pending_assignment', 'wait', false, null],
  ['pending_assignment', 'resume', true, null],
  ['pending_assignment', 'resolve', false, null],
  ['pending_assignment', 'close', false, null],
  ['pending_assignment', 'reopen', false, null],
  ['in_progress', 'assign', false, 'in_progress'],
  ['in_progress', 'log', false, 'in_progress'],
  ['in_progress', 'wait', false, 'in_progress'],
  ['in_progress', 'wait', true, null],
  ['in_progress', 'resume', true, 'in_progress'],
  ['in_progress', 'resume', false, null],
  ['in_progress', 'resolve', false, 'resolved'],
  ['in_progress', 'close', false, null],
  ['in_progress', 'reopen', false, null],
  ['resolved', 'assign', false, null],
  ['resolved', 'log', false, 'resolved'],
  ['resolved', 'wait', false, null],
  ['resolved', 'resolve', false, null],
  ['resolved', 'close', false, 'closed'],
  ['resolved', 'reopen', false, 'in_progress'],
  ['closed', 'assign', false, null],
  ['closed', 'log', false, null],
  ['closed', 'wait', false, null],
  ['closed', 'resume', true, null],
  ['closed', 'resolve', false, null],
  ['closed', 'close', false, null],
  ['closed', 'reopen', false, null],
]

describe('the status machine mirrors the domain', () => {
  it.each(MACHINE)('%s + %s (waiting %s) → %s', (status, action, waiting, after) => {
    expect(nextStatus(status, action, waiting)).toBe(after)
  })
})

const SUPERVISOR = { roles: ['service_supervisor'], userId: 'sup' }
const AGENT = { roles: ['service_agent'], userId: 'agent' }
const REP = { roles: ['sales_rep'], userId: 'rep' }
const VIEWER = { roles: ['viewer'], userId: 'viewer' }

describe('the actions a person is offered', () => {
  it.each([
    ['supervisor, pending', SUPERVISOR, 'pending_assignment', false, null, ['assign', 'note', 'contact']],
    ['agent, pending', AGENT, 'pending_assignment', false, null, ['take', 'note', 'contact']],
    ['supervisor, in progress', SUPERVISOR, 'in_progress', false, 'agent', ['assign', 'wait', 'resolve', 'note', 'contact']],
    ['agent, in progress', AGENT, 'in_progress', false, 'agent', ['wait', 'resolve', 'note', 'contact']],
    ['agent, waiting', AGENT, 'in_progress', true, 'agent', ['resume', 'resolve', 'note', 'contact']],
    ['agent, resolved', AGENT, 'resolved', false, 'agent', ['close', 'reopen', 'note', 'contact']],
    ['supervisor, closed', SUPERVISOR, 'closed', false, 'agent', []],
    ['rep, in progress', REP, 'in_progress', false, 'agent', ['note']],
    ['rep, closed', REP, 'closed', false, 'agent', []],
    ['viewer, in progress', VIEWER, 'in_progress', false, 'agent', []],
    ['admin, resolved', { roles: ['admin'], userId: 'a' }, 'resolved', false, 'agent', ['close', 'reopen', 'note', 'contact']],
  ] as const)('%s', (_, who, status, waiting, assignee, expected) => {
    expect(allowedActions({ status, waiting_on_customer: waiting, assignee_id: assignee }, who)).toEqual(expected)
  })
})
