import { describe, expect, it } from 'vitest'
import { attemptLines, canRedeliver, lastAnswer, parsePatterns, statusTag } from '@/pages/admin/deliveries'
import { replayBody, replaySummary } from '@/pages/admin/parked'

describe('webhook deliveries', () => {
  it.each([
    ['delivered', 'success', true],
    ['pending', 'warning', false],
    ['failed', 'danger', true],
    ['unknown', 'info', false],
  ] as const)('%s shows as %s, redeliverable %s', (status, tag, redeliver) => {
    expect(statusTag(status)).toBe(tag)
    expect(canRedeliver({ status: status as never })).toBe(redeliver)
  })

  it.each([
    [{ response_status: 500, last_error: 'server error' }, 'HTTP 500 · server error'],
    [{ response_status: 200, last_error: null }, 'HTTP 200'],
    [{ response_status: null, last_error: 'timeout' }, 'timeout'],
    [{ response_status: null, last_error: null }, '—'],
  ])('last answer %o', (delivery, text) => {
    expect(lastAnswer(delivery)).toBe(text)
  })

  it('writes the attempts and replays as lines', () => {
    expect(
      attemptLines([
        { attempt: 1, at: 'x', status: 503, error: 'busy', ms: 40 },
        { attempt: 2, status: 200, ms: 12 },
        { at: '2026-11-30T08:00:00Z', replay_by: 'u1' },
      ]),
    ).toEqual(['#1 503 busy 40 ms', '#2 200 12 ms', '↻ 2026-11-30T08:00:00Z u1'])
  })

  it.each([
    ['ticket.*\ncustomer.#', ['ticket.*', 'customer.#']],
    ['ticket.*, opportunity.won，ticket.*', ['ticket.*', 'opportunity.won']],
    ['  \n ', []],
  ])('patterns from %j', (text, patterns) => {
    expect(parsePatterns(text)).toEqual(patterns)
  })
})

describe('parked events replay', () => {
  it('sends the chosen ids, or nothing for all', () => {
    expect(replayBody(null)).toEqual({})
    expect(replayBody(['a', 'b'])).toEqual({ message_ids: ['a', 'b'] })
    expect(replayBody([])).toEqual({ message_ids: [] })
  })
  it('summarises what was replayed and what stays parked', () => {
    expect(replaySummary({ replayed: ['a', 'b'], failed: { c: 'gone' } })).toEqual({ replayed: 2, failed: [['c', 'gone']] })
  })
})
