// Why: the service desk's calls through the gateway (docs/service-desk.md), typed.
import { api, type Query } from '@/api/client'
import type {
  Agent,
  CustomerOption,
  KbArticle,
  KbPage,
  Page,
  Team,
  TicketDetail,
  TicketListItem,
} from './types'

export const PAGE_SIZE = 50

export const tickets = {
  list: (query: Query) => api.get<Page<TicketListItem>>('/api/v1/tickets', { page_size: PAGE_SIZE, ...query }),
  get: (id: string) => api.get<TicketDetail>(`/api/v1/tickets/${id}`),
  open: (body: Record<string, unknown>, key: string) =>
    api.post<TicketDetail>('/api/v1/tickets', body, { headers: { 'idempotency-key': key } }),
  assign: (t: TicketDetail | TicketListItem, assigneeId: string, note?: string) =>
    api.post<TicketDetail>(`/api/v1/tickets/${t.id}/assign`, { assignee_id: assigneeId, note: note || undefined, version: t.version }),
  log: (id: string, note: string, contacted: boolean) =>
    api.post<TicketDetail>(`/api/v1/tickets/${id}/log`, { note, contacted_customer: contacted }),
  change: (t: TicketDetail, action: 'wait' | 'resume' | 'close' | 'reopen', note?: string) =>
    api.post<TicketDetail>(`/api/v1/tickets/${t.id}/${action}`, { note: note || undefined, version: t.version }),
  resolve: (t: TicketDetail, resolution: string, cause?: string) =>
    api.post<TicketDetail>(`/api/v1/tickets/${t.id}/resolve`, { resolution, cause: cause || undefined, version: t.version }),
  suggestions: (id: string) => api.get<KbArticle[]>(`/api/v1/tickets/${id}/suggestions`),
}

export const desk = {
  teams: () => api.get<Team[]>('/api/v1/service-desk/teams'),
  saveTeam: (key: string, body: Record<string, unknown>) => api.put<Team>(`/api/v1/service-desk/teams/${key}`, body),
  agents: (query: Query = {}) => api.get<Agent[]>('/api/v1/service-desk/agents', query),
  saveAgent: (userId: string, body: Record<string, unknown>) =>
    api.put<Agent>(`/api/v1/service-desk/agents/${encodeURIComponent(userId)}`, body),
}

export const kb = {
  search: (query: Query) => api.get<KbPage>('/api/v1/kb/articles', query),
  get: (id: string) => api.get<KbArticle>(`/api/v1/kb/articles/${id}`),
  create: (body: Record<string, unknown>, key: string) =>
    api.post<KbArticle>('/api/v1/kb/articles', body, { headers: { 'idempotency-key': key } }),
  update: (id: string, body: Record<string, unknown>) => api.patch<KbArticle>(`/api/v1/kb/articles/${id}`, body),
  suggestions: (text: string) => api.get<{ items: KbArticle[] }>('/api/v1/kb/suggestions', { text }).then((r) => r.items),
}

export async function findCustomers(q: string): Promise<CustomerOption[]> {
  const page = await api.get<{ items: CustomerOption[] }>('/api/v1/customers', { q, page_size: 20 })
  return page.items.map((c) => ({ id: c.id, code: c.code, name: c.name }))
}

export function idempotencyKey(): string {
  return typeof crypto !== 'undefined' && 'randomUUID' in crypto
    ? crypto.randomUUID()
    : `${Date.now()}-${Math.random().toString(36).slice(2)}`
}
