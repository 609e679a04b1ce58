import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { api, queryString, request, useTokenSource } from '@/api/client'
import { ApiError } from '@/api/problem'

function json(status: number, body: unknown, type = 'application/json'): Response {
  return new Response(body === null ? null : JSON.stringify(body), { status, headers: { 'content-type': type } })
}

describe('the API client', () => {
  let token = 'old'
  let refreshes = 0
  let signedOut = 0
  const fetchMock = vi.fn()

  beforeEach(() => {
    token = 'old'
    refreshes = 0
    signedOut = 0
    fetchMock.mockReset()
    vi.stubGlobal('fetch', fetchMock)
    useTokenSource({
      accessToken: () => token,
      refresh: async () => {
        refreshes += 1
        await new Promise((resolve) => setTimeout(resolve, 5))
        token = 'new'
        return token
      },
      signedOut: () => {
        signedOut += 1
      },
    })
  })
  afterEach(() => {
    useTokenSource(null)
    vi.unstubAllGlobals()
  })

  const authorization = (call: number) => (fetchMock.mock.calls[call][1].headers as Record<string, string>).authorization

  it('sends the bearer token and parses JSON', async () => {
    fetchMock.mockResolvedValueOnce(json(200, { items: [1] }))
    expect(await api.get('/api/v1/customers', { page: 2, q: '' })).toEqual({ items: [1] })
    expect(fetchMock.mock.calls[0][0]).toBe('/api/v1/customers?page=2')
    expect(authorization(0)).toBe('Bearer old')
  })

  it('refreshes once on 401 and retries with the new token', async () => {
    fetchMock.mockResolvedValueOnce(json(401, { status: 401, detail: 'expired' }, 'application/problem+json'))
    fetchMock.mockResolvedValueOnce(json(200, { ok: true }))
    expect(await api.get('/api/v1/auth/me')).toEqual({ ok: true })
    expect(refreshes).toBe(1)
    expect(authorization(1)).toBe('Bearer new')
  })

  it('concurrent calls that meet an expired token share one refresh', async () => {
    fetchMock.mockImplementation(async (_path: string, init: RequestInit) =>
      (init.headers as Record<string, string>).authorization === 'Bearer new' ? json(200, { ok: 1 }) : json(401, { status: 401 }),
    )
    await Promise.all([api.get('/a'), api.get('/b'), api.get('/c')])
    expect(refreshes).toBe(1)
  })

  it('signs out when the refreshed token is refused too', async () => {
    fetchMock.mockResolvedValue(json(401, { status: 401, detail: 'Session ended.' }))
    await expect(api.get('/api/v1/auth/me')).rejects.toMatchObject({ status: 401, message: 'Session ended.' })
    expect(signedOut).toBe(1)
  })

  it('turns a problem into ApiError with field messages, and a network failure into status 0', async () => {
    fetchMock.mockResolvedValueOnce(
      json(422, { status: 422, detail: 'The request is not valid: check body.name.', errors: [{ field: 'body.name', message: 'required' }] }, 'application/problem+json'),
    )
    const error = await api.post('/api/v1/customers', {}).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ApiError)
    expect((error as ApiError).fields).toEqual({ name: 'required' })
    fetchMock.mockRejectedValueOnce(new TypeError('Failed to fetch'))
    await expect(api.get('/x')).rejects.toMatchObject({ status: 0 })
  })

  it('sends If-Match and JSON bodies, and no token on anonymous calls', async () => {
    fetchMock.mockResolvedValueOnce(json(200, {}))
    await request('/api/v1/surveys/t', { method: 'POST', body: { score: 5 }, anonymous: true, version: 3 })
    const init = fetchMock.mock.calls[0][1]
    expect(init.headers['if-match']).toBe('3')
    expect(init.headers['content-type']).toBe('application/json')
    expect(init.headers.authorization).toBeUndefined()
    expect(init.body).toBe('{"score":5}')
  })

  it('builds query strings with repeated keys and without empty values', () => {
    expect(queryString({ lifecycle: ['won', 'intent'], q: '星辰', page: 1, owner: null, tag: undefined, empty: '' })).toBe(
      '?lifecycle=won&lifecycle=intent&q=%E6%98%9F%E8%BE%B0&page=1',
    )
    expect(queryString({})).toBe('')
  })
})
