import { describe, expect, it } from 'vitest'
import { hhmm, markedRead, readBody, targetOf, withInbox, type Notification } from '@/pages/notifications/inbox'

const n = (over: Partial<Notification>): Notification => ({
  id: '1',
  kind: 'message',
  category: 'transactional',
  urgent: false,
  subject: 's',
  body: 'b',
  link: null,
  event_type: null,
  created_at: '2026-11-30T08:00:00Z',
  read_at: null,
  ...over,
})

describe('what a notification opens', () => {
  it.each([
    [{ kind: 'ticket_assigned', event_type: 'ticket.assigned' }, { route: '/tickets' }],
    [{ kind: 'sla_breached' }, { route: '/tickets' }],
    [{ kind: 'owner_changed' }, { route: '/customers' }],
    [{ kind: 'opportunity_won' }, { route: '/opportunities' }],
    [{ kind: 'reminder' }, { route: '/follow-ups' }],
    [{ kind: 'change_request' }, { route: '/customers/change-requests' }],
    [{ kind: 'other', event_type: 'customer.merged' }, { route: '/customers' }],
    [{ kind: 'message' }, null],
    [{ kind: 'survey', link: 'https://crm.example.com/survey/abc' }, { href: 'https://crm.example.com/survey/abc' }],
    [{ kind: 'message', link: '/tickets/7' }, { route: '/tickets/7' }],
    [{ kind: 'sla_breached', link: 'http://localhost:3000/tickets/9f1c' }, { route: '/tickets/9f1c' }],
    [{ kind: 'change_request', link: null }, { route: '/customers/change-requests' }],
    [{ kind: 'message', link: 'javascript:alert(1)' }, null],
  ] as const)('%o → %o', (over, target) => {
    expect(targetOf(n(over), 'http://localhost:3000')).toEqual(target)
  })
})

describe('marking read', () => {
  const items = [n({ id: 'a' }), n({ id: 'b' }), n({ id: 'c', read_at: '2026-11-29T00:00:00Z' })]
  it('one', () => {
    expect(readBody(['a'])).toEqual({ ids: ['a'] })
    expect(markedRead(items, ['a'], 'now').map((x) => x.read_at)).toEqual(['now', null, '2026-11-29T00:00:00Z'])
  })
  it('all', () => {
    expect(readBody(null)).toEqual({})
    expect(markedRead(items, null, 'now').map((x) => x.read_at)).toEqual(['now', 'now', '2026-11-29T00:00:00Z'])
  })
})

describe('preferences', () => {
  it.each([
    ['22:00:00', '22:00'],
    ['07:30', '07:30'],
    [null, null],
  ])('quiet hour %s as %s', (value, shown) => {
    expect(hhmm(value)).toBe(shown)
  })
  it('the inbox always stays first', () => {
    expect(withInbox(['email'])).toEqual(['inbox', 'email'])
    expect(withInbox(['sms', 'inbox'])).toEqual(['inbox', 'sms'])
  })
})
