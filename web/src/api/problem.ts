// Why: every failed call becomes one readable message (and per-field messages for forms)
// instead of a raw error; the gateway and services answer RFC 9457 problem details.

export interface FieldError {
  field: string
  message: string
  code?: string
}

export interface Problem {
  type?: string
  title?: string
  status: number
  detail?: string
  errors?: FieldError[]
  [extension: string]: unknown
}

/** A failed API call: `problem` is what the server said, `fields` maps a form field to its message. */
export class ApiError extends Error {
  readonly problem: Problem
  readonly fields: Record<string, string>

  constructor(problem: Problem) {
    super(readableMessage(problem))
    this.name = 'ApiError'
    this.problem = problem
    this.fields = fieldMessages(problem)
  }

  get status(): number {
    return this.problem.status
  }

  /** The problem's slug: the last part of its `type` (`urn:crm:problem:possible-duplicate` →
   * "possible-duplicate"). */
  get slug(): string {
    return problemSlug(this.problem)
  }
}

export function problemSlug(problem: Pick<Problem, 'type'>): string {
  const type = problem.type ?? ''
  return type.slice(Math.max(type.lastIndexOf('/'), type.lastIndexOf(':')) + 1)
}

const BODY_PREFIXES = ['body', 'query', 'path', 'header']

/** "body.contacts.0.mobile" → "contacts.0.mobile": the form's own field path. */
export function formField(path: string): string {
  const parts = path.split('.')
  return BODY_PREFIXES.includes(parts[0]) && parts.length > 1 ? parts.slice(1).join('.') : path
}

export function fieldMessages(problem: Problem): Record<string, string> {
  const out: Record<string, string> = {}
  for (const error of problem.errors ?? []) {
    const field = formField(error.field)
    out[field] = out[field] ? `${out[field]}; ${error.message}` : error.message
  }
  return out
}

const FALLBACK: Record<number, string> = {
  0: 'The server cannot be reached. Check the connection and try again.',
  401: 'Your session has ended. Please sign in again.',
  403: 'You do not have permission to do this.',
  404: 'Not found, or not visible to you.',
  409: 'Someone else changed this meanwhile. Reload and try again.',
  413: 'The file is too large.',
  429: 'Too many requests. Wait a moment and try again.',
  502: 'A service did not answer properly. Try again shortly.',
  503: 'A service is unavailable right now. Try again shortly.',
  504: 'A service took too long to answer. Try again shortly.',
}

/** One sentence for a person: the server's detail when it gave one, else a message by status. */
export function readableMessage(problem: Problem): string {
  if (problem.detail) return problem.detail
  if (problem.title && problem.title !== 'Error') return problem.title
  return FALLBACK[problem.status] ?? (problem.status >= 500 ? FALLBACK[503] : 'The request was not accepted.')
}

/** Whatever came back (problem+json, other JSON, text, nothing) as a Problem. */
export function toProblem(status: number, body: unknown, statusText = ''): Problem {
  if (body && typeof body === 'object' && !Array.isArray(body)) {
    const record = body as Record<string, unknown>
    if (typeof record.detail === 'string' || typeof record.title === 'string') {
      return { ...record, status } as Problem
    }
    if (Array.isArray(record.detail)) {
      // FastAPI's default validation answer, should a route ever give it.
      const errors = (record.detail as Array<{ loc?: unknown[]; msg?: string; type?: string }>).map((e) => ({
        field: (e.loc ?? []).join('.'),
        message: e.msg ?? 'invalid',
        code: e.type,
      }))
      return { status, errors, detail: undefined }
    }
  }
  return { status, title: statusText || undefined }
}
