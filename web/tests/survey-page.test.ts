import { describe, expect, it } from 'vitest'
import { ApiError } from '@/api/problem'
import { answerBody, failureOf } from '@/pages/survey/survey'

const base = 'https://crm.example.com/problems/'

describe('a failing survey link becomes a friendly state', () => {
  it.each([
    ['not valid', new ApiError({ status: 404, type: `${base}not-found` }), 'unknown'],
    ['too short a token', new ApiError({ status: 422 }), 'unknown'],
    ['expired', new ApiError({ status: 410, type: `${base}survey-expired` }), 'expired'],
    ['answered', new ApiError({ status: 409, type: `${base}survey-answered` }), 'answered'],
    ['a server trouble', new ApiError({ status: 503 }), 'unavailable'],
    ['no connection', new ApiError({ status: 0 }), 'unavailable'],
    ['not an API error', new TypeError('boom'), 'unavailable'],
  ] as const)('%s', (_, error, state) => {
    expect(failureOf(error)).toBe(state)
  })
})

describe('the answer sent', () => {
  it.each([
    [null, 'x', null],
    [0, '', null],
    [6, '', null],
    [5, '', { score: 5 }],
    [4, '  很好  ', { score: 4, comment: '很好' }],
    [1, '   ', { score: 1 }],
  ] as const)('score %s, comment %j', (score, comment, body) => {
    expect(answerBody(score, comment)).toEqual(body)
  })
})
