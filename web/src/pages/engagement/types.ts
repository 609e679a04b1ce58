// Why: the engagement API's shapes as the console reads them (services/engagement api/*schemas.py).
// Amounts are decimal strings; dates are YYYY-MM-DD; moments carry their offset.

export type Stage = 'initial_contact' | 'needs_analysis' | 'proposal' | 'negotiation' | 'won' | 'lost'
export type LostReason = 'budget' | 'competitor' | 'timing' | 'no_decision' | 'requirements' | 'other'

export interface Page<T> {
  items: T[]
  total: number
  page: number
  page_size: number
}

export interface StageChange {
  from_stage: Stage | null
  to_stage: Stage
  note: string
  changed_by: string
  changed_at: string
  expected_amount: string
  probability: number
  actual_amount: string | null
  contract_number: string | null
  lost_reason: string | null
  lost_detail: string | null
}

export interface Opportunity {
  id: string
  code: string
  customer_id: string
  name: string
  expected_amount: string
  expected_close_on: string | null
  stage: Stage
  probability: number
  competitors: Array<{ name: string; analysis: string | null }>
  strengths: string | null
  weaknesses: string | null
  owner_id: string
  evaluated_on: string | null
  actual_amount: string | null
  contract_number: string | null
  lost_reason: string | null
  lost_detail: string | null
  created_by: string
  created_at: string
  updated_at: string
  closed_at: string | null
  version: number
}

export interface OpportunityDetail extends Opportunity {
  history: StageChange[]
}

export interface ActionItem {
  id: string
  followup_id: string
  customer_id: string
  action: string
  assignee_id: string
  due_on: string | null
  done: boolean
  done_at: string | null
  version: number
}

export interface FollowUp {
  id: string
  customer_id: string
  contact_id: string | null
  occurred_on: string
  method: string
  summary: string
  feedback: string
  outcome: string
  next_follow_up_at: string | null
  follower_id: string
  follower_name: string | null
  opportunity_id: string | null
  plan_task_id: string | null
  source: string
  created_by: string
  created_at: string
  action_items: ActionItem[]
}

export interface Reminder {
  id: string
  kind: string
  recipient_id: string
  customer_id: string | null
  subject_id: string | null
  title: string
  due_on: string | null
  due_at: string
  fired_at: string | null
  late: boolean
}

export interface OverdueCustomer {
  customer_id: string
  code: string
  name: string
  owner_id: string
  grade: string
  last_follow_up_on: string | null
  overdue_since: string
  days_overdue: number
}

export interface StageFigure {
  stage: Stage
  count: number
  expected_amount: string
  weighted_amount: string
}

export interface Conversion {
  from_stage: Stage
  to_stage: Stage
  reached_from: number
  reached_to: number
  rate: string | null
}

export interface PipelineAnalytics {
  owner_id: string | null
  basis: string
  date_from: string | null
  date_to: string | null
  stages: StageFigure[]
  open_count: number
  open_expected_amount: string
  weighted_pipeline: string
  conversions: Conversion[]
  won_count: number
  lost_count: number
  win_rate: string | null
  won_amount: string
  average_cycle_days: string | null
  lost_reasons: Record<string, number>
}

export const METHODS = ['phone', 'visit', 'email', 'wechat', 'meeting', 'sms'] as const
export const OUTCOMES = ['continue', 'priority', 'paused', 'won', 'invalid'] as const
export const FEEDBACKS = ['positive', 'neutral', 'negative'] as const
