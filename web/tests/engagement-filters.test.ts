import { describe, expect, it } from 'vitest'
import {
  followUpApiQuery,
  followUpFilterFrom,
  followUpFilterQuery,
  opportunityApiQuery,
  opportunityFilterFrom,
  opportunityFilterQuery,
} from '@/pages/engagement/filters'

describe('follow-up filters and the URL', () => {
  it.each([
    [{}, { customer_id: '', method: '', outcome: '', occurred_from: '', occurred_to: '', scope: 'mine', page: 1 }],
    [
      { method: 'visit', outcome: 'won', occurred_from: '2026-11-01', occurred_to: 'bad', scope: 'team', page: '3' },
      { customer_id: '', method: 'visit', outcome: 'won', occurred_from: '2026-11-01', occurred_to: '', scope: 'team', page: 3 },
    ],
    [{ scope: 'everyone', page: '-2' }, { customer_id: '', method: '', outcome: '', occurred_from: '', occurred_to: '', scope: 'mine', page: 1 }],
  ])('%j → %j', (query, filter) => {
    expect(followUpFilterFrom(query, 'mine')).toEqual(filter)
  })

  it('round-trips through the query', () => {
    const filter = followUpFilterFrom({ method: 'phone', page: '2', scope: 'team', customer_id: 'c1' }, 'mine')
    expect(followUpFilterFrom(followUpFilterQuery(filter), 'mine')).toEqual(filter)
    expect(followUpFilterQuery({ ...filter, page: 1 })).toEqual({ method: 'phone', scope: 'team', customer_id: 'c1' })
  })

  it('asks the API for mine as follower, 50 a page', () => {
    expect(followUpApiQuery(followUpFilterFrom({ outcome: 'priority' }, 'mine'), 'u1')).toMatchObject({
      outcome: 'priority',
      follower_id: 'u1',
      page: 1,
      page_size: 50,
      method: undefined,
    })
    expect(followUpApiQuery(followUpFilterFrom({ scope: 'team' }, 'mine'), 'u1').follower_id).toBeUndefined()
  })
})

describe('opportunity filters', () => {
  it('open_only and scope', () => {
    const filter = opportunityFilterFrom({ open_only: 'true', stage: 'proposal' }, 'team')
    expect(filter).toMatchObject({ open_only: true, stage: 'proposal', scope: 'team', page: 1 })
    expect(opportunityFilterQuery(filter)).toEqual({ open_only: 'true', stage: 'proposal', scope: 'team' })
    expect(opportunityApiQuery({ ...filter, scope: 'mine' }, 'u9')).toMatchObject({ owner_id: 'u9', open_only: true, page_size: 50 })
    expect(opportunityApiQuery(opportunityFilterFrom({}, 'team'), 'u9')).toMatchObject({ owner_id: undefined, open_only: undefined })
  })
})
