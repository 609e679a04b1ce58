// Why: the public survey page never shows a raw error: each way a link can fail becomes a
// friendly state (docs/service-desk.md "Satisfaction surveys": 404 not valid, 410 expired,
// 409 already answered), anything else a "try again later".
import { request } from '@/api/client'
import { ApiError } from '@/api/problem'

export interface Survey {
  code: string
  title: string
  customer_name: string
  resolution: string | null
  resolved_at: string | null
  closed_at: string | null
  expires_at: string
  answered: boolean
}

export type SurveyFailure = 'unknown' | 'expired' | 'answered' | 'unavailable'

export function failureOf(error: unknown): SurveyFailure {
  if (!(error instanceof ApiError)) return 'unavailable'
  if (error.status === 404 || error.status === 422) return 'unknown'
  if (error.status === 410 || error.slug === 'survey-expired') return 'expired'
  if (error.status === 409 || error.slug === 'survey-answered') return 'answered'
  return 'unavailable'
}

export const SCORES = [1, 2, 3, 4, 5] as const

/** The API's limits, checked before sending so the customer sees why at once. */
export const COMMENT_MAX = 2000

export function answerBody(score: number | null, comment: string): { score: number; comment?: string } | null {
  if (score === null || !Number.isInteger(score) || score < 1 || score > 5) return null
  const text = comment.trim().slice(0, COMMENT_MAX)
  return text ? { score, comment: text } : { score }
}

const path = (token: string) => `/api/v1/surveys/${encodeURIComponent(token)}`

export async function loadSurvey(token: string): Promise<Survey> {
  return (await request<Survey>(path(token), { anonymous: true })).data
}

export async function answerSurvey(token: string, body: { score: number; comment?: string }): Promise<Survey> {
  return (await request<Survey>(path(token), { method: 'POST', body, anonymous: true })).data
}
