import { describe, expect, it } from 'vitest'
import { apiQuery, candidatesFor, filtersFromQuery, queryFromFilters, viewsFor } from '@/pages/service-desk/queue'
import type { Agent } from '@/pages/service-desk/types'

const SUP = ['service_supervisor']
const AGENT = ['service_agent']

describe('the queue filters in the URL', () => {
  it.each([
    ['supervisor default', {}, SUP, { view: 'to-assign', status: '', type: '', priority: '', q: '', page: 1 }],
    ['agent default', {}, AGENT, { view: 'mine', status: '', type: '', priority: '', q: '', page: 1 }],
    ['viewer default', {}, ['viewer'], { view: 'open', status: '', type: '', priority: '', q: '', page: 1 }],
    ['agent cannot see the to-assign view', { view: 'to-assign' }, AGENT, { view: 'mine', status: '', type: '', priority: '', q: '', page: 1 }],
    ['filters', { view: 'all', status: 'resolved', type: 'complaint', priority: 'high', page: '3', q: ' FW ' }, SUP, { view: 'all', status: 'resolved', type: 'complaint', priority: 'high', q: 'FW', page: 3 }],
    ['junk is ignored', { status: 'lost', type: 'x', priority: 'urgent', page: '-2' }, SUP, { view: 'to-assign', status: '', type: '', priority: '', q: '', page: 1 }],
  ] as const)('%s', (_, query, roles, expected) => {
    expect(filtersFromQuery(query, roles)).toEqual(expected)
  })

  it('round-trips through the URL', () => {
    const f = filtersFromQuery({ view: 'all', type: 'repair', page: '2' }, SUP)
    expect(queryFromFilters(f, SUP)).toEqual({ view: 'all', type: 'repair', page: '2' })
    expect(filtersFromQuery(queryFromFilters(f, SUP), SUP)).toEqual(f)
  })

  it.each([
    ['to-assign', { view: 'to-assign', status: 'closed', type: 'complaint', priority: '', q: '', page: 1 }, { page: 1, status: 'pending_assignment', order: 'queue', ticket_type: 'complaint' }],
    ['mine', { view: 'mine', status: '', type: '', priority: 'high', q: '', page: 2 }, { page: 2, assignee_id: 'me', status: 'open', priority: 'high' }],
    ['mine resolved', { view: 'mine', status: 'resolved', type: '', priority: '', q: '', page: 1 }, { page: 1, assignee_id: 'me', status: 'resolved' }],
    ['open', { view: 'open', status: '', type: '', priority: '', q: '', page: 1 }, { page: 1, status: 'open', order: 'queue' }],
    ['all', { view: 'all', status: '', type: '', priority: '', q: 'FW2026', page: 1 }, { page: 1, q: 'FW2026' }],
  ] as const)('API query for %s', (_, filters, expected) => {
    expect(apiQuery(filters)).toEqual(expected)
  })

  it('views by role', () => {
    expect(viewsFor(SUP)).toEqual(['mine', 'open', 'to-assign', 'all'])
    expect(viewsFor(AGENT)).toEqual(['mine', 'open', 'all'])
    expect(viewsFor(['sales_rep'])).toEqual(['open', 'all'])
  })
})

describe('whom a pending ticket goes to', () => {
  const agent = (user_id: string, open: number, last: string | null, extra: Partial<Agent> = {}): Agent => ({
    user_id,
    team_key: 'default',
    display_name: user_id,
    ticket_types: ['complaint', 'repair'],
    active: true,
    open_tickets: open,
    last_assigned_at: last,
    ...extra,
  })

  it('the least busy agent of the team handling the type first, then the longest idle', () => {
    const agents = [
      agent('busy', 5, null),
      agent('idle-long', 1, '2026-11-01T00:00:00Z'),
      agent('idle-short', 1, '2026-11-29T00:00:00Z'),
      agent('other-team', 0, null, { team_key: 'vip' }),
      agent('no-repair', 0, null, { ticket_types: ['consultation'] }),
      agent('inactive', 0, null, { active: false }),
    ]
    expect(candidatesFor(agents, { ticket_type: 'repair', team_key: 'default' }).map((a) => a.user_id)).toEqual([
      'idle-long',
      'idle-short',
      'busy',
    ])
  })
})
