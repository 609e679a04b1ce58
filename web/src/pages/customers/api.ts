// Why: every call the customer pages make, in one place, through the console's API client.
import { ref } from 'vue'
import { api, download, request, type Query } from '@/api/client'
import { showError } from '@/composables/feedback'
import { saveOutcome, type SaveOutcome } from './model'
import type {
  ChangeRequest,
  ChangeRequestPage,
  Contact,
  Customer,
  CustomerPage,
  Enums,
  Evaluation,
  FollowUp,
  ImportReport,
  Indicator,
  Option,
  PendingKeyChange,
  Policy,
  TransferResult,
  View360,
} from './types'

const C = '/api/v1/customers'

export const customersApi = {
  list: (query: Query) => api.get<CustomerPage>(C, query),
  exportList: (query: Query, format: 'xlsx' | 'csv') => download(`${C}/export`, { ...query, format }, `customers.${format}`),
  get: (id: string) => api.get<Customer>(`${C}/${encodeURIComponent(id)}`),
  view360: (id: string) => api.get<View360>(`${C}/${encodeURIComponent(id)}/360`),
  create: (body: Record<string, unknown>) => api.post<Customer>(C, body),
  async update(id: string, version: number, changes: Record<string, unknown>): Promise<SaveOutcome> {
    const { data, status } = await request<Customer | PendingKeyChange>(`${C}/${encodeURIComponent(id)}`, {
      method: 'PATCH',
      body: changes,
      version,
    })
    return saveOutcome(status, data)
  },
  archive: (id: string, version: number) => api.post<Customer>(`${C}/${encodeURIComponent(id)}/archive`, { version }),
  restore: (id: string, version: number) => api.post<Customer>(`${C}/${encodeURIComponent(id)}/restore`, { version }),
  transfer: (body: { customer_ids: string[]; to_owner_id: string; reason?: string }) =>
    api.post<TransferResult>(`${C}/transfer`, body),

  contacts: (id: string) => api.get<Contact[]>(`${C}/${encodeURIComponent(id)}/contacts`),
  addContact: (id: string, body: Record<string, unknown>) => api.post<Contact>(`${C}/${encodeURIComponent(id)}/contacts`, body),
  updateContact: (id: string, contact: Contact, changes: Record<string, unknown>) =>
    api.patch<Contact>(`${C}/${encodeURIComponent(id)}/contacts/${contact.id}`, changes, { version: contact.version }),
  archiveContact: (id: string, contactId: string) => api.delete<null>(`${C}/${encodeURIComponent(id)}/contacts/${contactId}`),

  indicators: () => api.get<Indicator[]>('/api/v1/grading/indicators'),
  policy: () => api.get<Policy>('/api/v1/grading/policy'),
  evaluations: (id: string) => api.get<{ items: Evaluation[]; total: number }>(`${C}/${encodeURIComponent(id)}/evaluations`, { page_size: 5 }),
  evaluate: (id: string, body: Record<string, unknown>) => api.post<Evaluation>(`${C}/${encodeURIComponent(id)}/evaluations`, body),

  importFile(file: File, dryRun: boolean, createMissingTags = false): Promise<ImportReport> {
    const form = new FormData()
    form.append('file', file)
    const query = { dry_run: dryRun, create_missing_tags: createMissingTags || undefined }
    return request<ImportReport>(`${C}/imports`, { method: 'POST', body: form, query }).then((r) => r.data)
  },
  importTemplate: (format: 'xlsx' | 'csv') => download(`${C}/imports/template`, { format }, `customer-import-template.${format}`),

  changeRequests: (query: Query) => api.get<ChangeRequestPage>('/api/v1/change-requests', query),
  approve: (cr: ChangeRequest, reason?: string) =>
    api.post<ChangeRequest>(`/api/v1/change-requests/${cr.id}/approve`, { version: cr.version, reason: reason || undefined }),
  reject: (cr: ChangeRequest, reason: string) => api.post<ChangeRequest>(`/api/v1/change-requests/${cr.id}/reject`, { version: cr.version, reason }),
  withdraw: (cr: ChangeRequest) => api.post<ChangeRequest>(`/api/v1/change-requests/${cr.id}/withdraw`, { version: cr.version }),

  logFollowUp: (body: Record<string, unknown>) => api.post<FollowUp>('/api/v1/follow-ups', body),
}

// --- codes and labels (shared by every page of the area, fetched once) -----------------------

const enums = ref<Enums>({})
const engagementEnums = ref<Enums>({})
let loading: Promise<void> | null = null

/** /meta/enums (customers) and /engagement/enums, once per page load. A failure is told once and
 * leaves codes shown (the engagement labels are optional: a role without follow-ups has none). */
export function useEnums() {
  loading ??= Promise.all([
    api.get<Enums>('/api/v1/meta/enums').then((v) => (enums.value = v)),
    api.get<Enums>('/api/v1/engagement/enums').then((v) => (engagementEnums.value = v)).catch(() => undefined),
  ])
    .then(() => undefined)
    .catch((caught) => {
      loading = null
      showError(caught)
    })
  return { enums, engagementEnums, ready: loading }
}

export function options(source: Enums, name: string): Option[] {
  return source[name] ?? []
}
