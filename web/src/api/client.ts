// Why: the one way the console talks to the gateway: the signed-in person's bearer token on
// every call, one refresh (shared by concurrent calls) when the access token has expired,
// problem details turned into ApiError, and the ETag kept for If-Match on the next change.

import { ApiError, toProblem } from './problem'

export interface TokenSource {
  accessToken(): string | null
  /** A fresh access token, or null when the session is over (the person must sign in). */
  refresh(): Promise<string | null>
  signedOut(): void
}

let tokens: TokenSource | null = null
let refreshing: Promise<string | null> | null = null

export function useTokenSource(source: TokenSource | null): void {
  tokens = source
}

export type Query = Record<string, string | number | boolean | null | undefined | Array<string | number>>

export interface RequestOptions {
  method?: string
  query?: Query
  body?: unknown
  /** Sent as If-Match (optimistic concurrency on changes). */
  version?: string | number
  headers?: Record<string, string>
  /** Skip the bearer token (sign-in, public survey). */
  anonymous?: boolean
}

export interface ApiResponse<T> {
  data: T
  status: number
  headers: Headers
}

export function queryString(query: Query | undefined): string {
  if (!query) return ''
  const params = new URLSearchParams()
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === '') continue
    if (Array.isArray(value)) value.forEach((v) => params.append(key, String(v)))
    else params.append(key, String(value))
  }
  const text = params.toString()
  return text ? `?${text}` : ''
}

async function send(path: string, options: RequestOptions, token: string | null): Promise<Response> {
  const headers: Record<string, string> = { accept: 'application/json, application/problem+json', ...options.headers }
  if (token && !options.anonymous) headers.authorization = `Bearer ${token}`
  if (options.version !== undefined) headers['if-match'] = String(options.version)
  let body: BodyInit | undefined
  if (options.body instanceof FormData || options.body instanceof Blob) body = options.body
  else if (options.body !== undefined) {
    headers['content-type'] = 'application/json'
    body = JSON.stringify(options.body)
  }
  try {
    return await fetch(path + queryString(options.query), { method: options.method ?? 'GET', headers, body })
  } catch {
    throw new ApiError({ status: 0 })
  }
}

async function freshToken(): Promise<string | null> {
  if (!tokens) return null
  refreshing ??= tokens.refresh().finally(() => {
    refreshing = null
  })
  return refreshing
}

async function parse(response: Response): Promise<unknown> {
  if (response.status === 204) return null
  const type = response.headers.get('content-type') ?? ''
  if (type.includes('json')) return response.json().catch(() => null)
  return response.text()
}

/** Calls the gateway; resolves with the parsed body or rejects with ApiError. */
export async function request<T = unknown>(path: string, options: RequestOptions = {}): Promise<ApiResponse<T>> {
  let response = await send(path, options, tokens?.accessToken() ?? null)
  if (response.status === 401 && !options.anonymous && tokens) {
    const token = await freshToken()
    if (token) response = await send(path, options, token)
    if (response.status === 401) tokens.signedOut()
  }
  const data = await parse(response)
  if (!response.ok) throw new ApiError(toProblem(response.status, data, response.statusText))
  return { data: data as T, status: response.status, headers: response.headers }
}

export const api = {
  get: <T>(path: string, query?: Query) => request<T>(path, { query }).then((r) => r.data),
  post: <T>(path: string, body?: unknown, options: RequestOptions = {}) =>
    request<T>(path, { ...options, method: 'POST', body }).then((r) => r.data),
  patch: <T>(path: string, body: unknown, options: RequestOptions = {}) =>
    request<T>(path, { ...options, method: 'PATCH', body }).then((r) => r.data),
  put: <T>(path: string, body: unknown, options: RequestOptions = {}) =>
    request<T>(path, { ...options, method: 'PUT', body }).then((r) => r.data),
  delete: <T>(path: string, options: RequestOptions = {}) =>
    request<T>(path, { ...options, method: 'DELETE' }).then((r) => r.data),
}

/** Downloads a file answer (export) with the token, and saves it under its given name. */
export async function download(path: string, query?: Query, fallbackName = 'export'): Promise<void> {
  const { data, headers } = await requestBlob(path, query)
  const disposition = headers.get('content-disposition') ?? ''
  const match = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(disposition)
  const name = match ? decodeURIComponent(match[1]) : fallbackName
  const url = URL.createObjectURL(data)
  const link = document.createElement('a')
  link.href = url
  link.download = name
  link.click()
  URL.revokeObjectURL(url)
}

async function requestBlob(path: string, query?: Query): Promise<{ data: Blob; headers: Headers }> {
  let response = await send(path, { query }, tokens?.accessToken() ?? null)
  if (response.status === 401 && tokens) {
    const token = await freshToken()
    if (token) response = await send(path, { query }, token)
  }
  if (!response.ok) throw new ApiError(toProblem(response.status, await parse(response), response.statusText))
  return { data: await response.blob(), headers: response.headers }
}
