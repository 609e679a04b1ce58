// Why: the service desk's answers as the console reads them (services/service-desk api
// schemas: ticket_schemas.py, kb_schemas.py, teams.py), in one place.

export type TicketType = 'consultation' | 'complaint' | 'suggestion' | 'tech_support' | 'repair' | 'visit'
export type Priority = 'high' | 'medium' | 'low'
export type TicketStatus = 'pending_assignment' | 'in_progress' | 'resolved' | 'closed'
export type Mood = 'agitated' | 'calm' | 'disappointed'
export type Channel = 'phone' | 'email' | 'web' | 'wechat' | 'visit' | 'other'
export type Strategy = 'manual' | 'round_robin' | 'least_busy'
export type KbStatus = 'draft' | 'published' | 'archived'

export const TICKET_TYPES: TicketType[] = ['consultation', 'complaint', 'suggestion', 'tech_support', 'repair', 'visit']
export const PRIORITIES: Priority[] = ['high', 'medium', 'low']
export const STATUSES: TicketStatus[] = ['pending_assignment', 'in_progress', 'resolved', 'closed']
export const MOODS: Mood[] = ['agitated', 'calm', 'disappointed']
export const CHANNELS: Channel[] = ['phone', 'email', 'web', 'wechat', 'visit', 'other']
export const STRATEGIES: Strategy[] = ['manual', 'round_robin', 'least_busy']
export const KB_STATUSES: KbStatus[] = ['draft', 'published', 'archived']

/** The list's view of a ticket's clock due first (`next_clock`). */
export interface NextClock {
  kind: string
  round: number
  due_at: string | null
  warn_at: string | null
  status: 'running' | 'warning' | 'breached' | 'paused'
  paused_remaining_minutes: number | null
}

export interface Ticket {
  id: string
  code: string
  customer_id: string
  customer_name: string
  contact_id: string | null
  title: string
  ticket_type: TicketType
  priority: Priority
  urgent: boolean
  status: TicketStatus
  mood: Mood | null
  channel: Channel
  cause: string | null
  team_key: string
  assignee_id: string | null
  waiting_on_customer: boolean
  reopen_count: number
  satisfaction: number | null
  created_by: string
  created_at: string
  assigned_at: string | null
  first_response_at: string | null
  resolved_at: string | null
  closed_at: string | null
  version: number
}

export interface TicketListItem extends Ticket {
  next_clock: NextClock | null
}

export interface LogEntry {
  at: string
  actor_id: string
  action: string
  note: string | null
  details: Record<string, unknown>
}

export interface SlaClock {
  kind: string
  round: number
  target_minutes: number
  started_at: string
  due_at: string | null
  warn_at: string | null
  status: 'running' | 'paused' | 'warning' | 'breached' | 'met' | 'missed'
  elapsed_minutes: number
  remaining_minutes: number
  percent_used: number
  paused_since: string | null
  stopped_at: string | null
}

export interface TicketDetail extends Ticket {
  description: string
  resolution: string | null
  resolved_by: string | null
  satisfaction_comment: string | null
  satisfaction_at: string | null
  log: LogEntry[]
  sla: SlaClock[]
}

export interface Page<T> {
  items: T[]
  total: number
  page: number
  page_size: number
}

export interface Team {
  key: string
  name: string
  calendar_key: string
  supervisor_id: string | null
  strategy: Strategy
  updated_at: string
  updated_by: string
  version: number
}

export interface Agent {
  user_id: string
  team_key: string
  display_name: string
  ticket_types: TicketType[]
  active: boolean
  open_tickets: number
  last_assigned_at: string | null
}

export interface KbArticle {
  id: string
  question: string
  answer: string
  tags: string[]
  status: KbStatus
  use_count: number
  created_by: string
  created_at: string
  updated_by: string
  updated_at: string
  published_at: string | null
  version: number
}

export interface KbPage extends Page<KbArticle> {
  total_exact: boolean
}

export interface CustomerOption {
  id: string
  code: string
  name: string
}
