// Why: the customers service's and the gateway's answer shapes as the pages read them
// (services/customers/src/crm_customers/api/schemas.py, approvals.py, imports.py, grading.py;
// services/gateway/src/crm_gateway/api/customer360.py).

export type Kind = 'enterprise' | 'individual'
export type Lifecycle = 'prospect' | 'intent' | 'won' | 'lost'
export type ActivityStatus = 'active' | 'dormant' | 'churned'
export type Grade = 'A' | 'B' | 'C'

export interface Address {
  province?: string | null
  city?: string | null
  district?: string | null
  street?: string | null
}

export interface OptOuts {
  email: boolean
  sms: boolean
  wechat: boolean
}

export interface Customer {
  id: string
  code: string
  kind: Kind
  name: string
  industry: string
  lifecycle: Lifecycle
  activity_status: ActivityStatus
  grade: Grade | null
  credit_code: string | null
  registered_address: Address | null
  id_number: string | null
  tags: string[]
  source: string | null
  referred_by: string | null
  needs: string | null
  remarks: string | null
  owner_id: string
  created_by: string
  review_status: string
  merged_into: string | null
  created_at: string
  updated_at: string
  last_reviewed_at: string | null
  archived: boolean
  version: number
}

export interface CustomerPage {
  items: Customer[]
  total: number
  total_exact: boolean
  page: number
  page_size: number
}

export interface Contact {
  id: string
  customer_id: string
  name: string
  position: string | null
  mobile: string | null
  phone: string | null
  email: string | null
  wechat: string | null
  is_primary: boolean
  marketing_opt_out: OptOuts
  archived: boolean
  created_at: string
  updated_at: string
  version: number
}

export interface ChangeRequest {
  id: string
  customer_id: string
  customer_code: string
  customer_name: string
  changes: Record<string, unknown>
  previous: Record<string, unknown>
  requested_by: string
  reason: string | null
  status: 'pending' | 'approved' | 'rejected' | 'withdrawn' | string
  decided_by: string | null
  decided_at: string | null
  decision_reason: string | null
  created_at: string
  updated_at: string
  version: number
}

export interface ChangeRequestPage {
  items: ChangeRequest[]
  total: number
  page: number
  page_size: number
}

/** The 202 answer of PATCH /customers/{id}: key fields wait for approval. */
export interface PendingKeyChange {
  customer: Customer
  change_request: ChangeRequest
}

export interface Option {
  code: string
  'zh-CN': string
  en: string
  active?: boolean
}

export type Enums = Record<string, Option[]>

export interface Candidate {
  id: string
  code: string
  name: string
  reason: string
}

export interface ActionItem {
  id: string
  action: string
  assignee_id: string
  due_on: string | null
  done: boolean
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
  source: string
  created_at: string
  action_items: ActionItem[]
}

export interface Opportunity {
  id: string
  code: string
  name: string
  expected_amount: string
  expected_close_on: string | null
  stage: string
  probability: number
  owner_id: string
}

export interface Ticket {
  id: string
  code: string
  title: string
  priority: string
  status: string
  urgent: boolean
  created_at: string
}

export interface SectionError {
  error: { status: number; detail: string }
}

export interface Paged<T> {
  items: T[]
  total: number
}

export interface View360 {
  customer: Customer
  contacts: Contact[] | SectionError
  recent_follow_ups: Paged<FollowUp> | SectionError
  open_opportunities: Paged<Opportunity> | SectionError
  open_tickets: Paged<Ticket> | SectionError
}

export interface Indicator {
  id: string
  name_zh: string
  name_en: string
  description: string | null
  weight: string
  max_score: string
  active: boolean
  sort_order: number
  version: number
}

export interface Policy {
  grade_a_min: string
  grade_b_min: string
  terminate_below: string
  recommendations: { A: string; B: string; C: string }
  version: number
}

export interface Evaluation {
  id: string
  total: string
  grade: Grade
  previous_grade: Grade | null
  recommendation: string
  computed_recommendation: string
  comment: string | null
  evaluated_by: string
  evaluated_at: string
}

export interface ImportRow {
  row: number
  status: 'valid' | 'error' | 'duplicate' | string
  name: string | null
  reasons: string[]
  duplicate_of: Record<string, unknown> | null
  customer_id: string | null
  code: string | null
  warnings: string[]
  possible_duplicates: Candidate[]
}

export interface ImportReport {
  id: string
  file_name: string
  dry_run: boolean
  status: string
  counts: { total: number; valid: number; error: number; duplicate: number; created: number; warned: number }
  ignored_columns: string[]
  failure: string | null
  new_tags: string[] | null
  rows: ImportRow[]
}

export interface TransferResult {
  transfer_id: string
  count: number
  unchanged: number
}
