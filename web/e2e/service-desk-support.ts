// Why: what the service-desk and survey browser tests set up through the gateway's API (as the
// admin): a customer with a contact the survey goes to, a published article, a ticket taken to
// closed, and the survey's token, read from the notification the notifier made for the contact
// (the SMTP server's mail is out of a spec's reach; the admin reads every notification).
import { expect, type APIRequestContext } from '@playwright/test'
import { ADMIN_PASSWORD, PEOPLE, unique } from './support'

type Json = Record<string, any> // eslint-disable-line @typescript-eslint/no-explicit-any

export class Admin {
  constructor(
    private readonly request: APIRequestContext,
    private readonly token: string,
  ) {}

  static async signIn(request: APIRequestContext): Promise<Admin> {
    const response = await request.post('/api/v1/auth/login', { data: { username: PEOPLE.admin, password: ADMIN_PASSWORD } })
    expect(response.status(), await response.text()).toBe(200)
    return new Admin(request, (await response.json()).access_token)
  }

  private headers(extra: Record<string, string> = {}) {
    return { authorization: `Bearer ${this.token}`, ...extra }
  }

  async call(method: 'GET' | 'POST' | 'PUT', path: string, data?: unknown, expected = [200, 201]): Promise<Json> {
    const response = await this.request.fetch(path, { method, data, headers: this.headers() })
    const text = await response.text()
    expect(expected, `${method} ${path}: ${response.status()} ${text}`).toContain(response.status())
    return text ? JSON.parse(text) : {}
  }

  /** A customer with a primary contact (an email address the survey goes to), known to the
   *  service desk: its replica is there once a ticket for it is refused for its mood, not for
   *  the customer (the probe opens no ticket). */
  async customerWithContact(prefix: string): Promise<{ id: string; name: string; contactId: string }> {
    const name = unique(`${prefix}`)
    const customer = await this.call('POST', '/api/v1/customers', {
      kind: 'enterprise',
      name,
      industry: 'manufacturing',
      allow_duplicate: true,
    })
    const contact = await this.call('POST', `/api/v1/customers/${customer.id}/contacts`, {
      name: '周建国',
      email: `${unique('survey')}@example.com`,
      is_primary: true,
    })
    await expect
      .poll(
        async () => {
          const probe = await this.request.post('/api/v1/tickets', {
            headers: this.headers(),
            data: { customer_id: customer.id, ticket_type: 'consultation', mood: 'calm', description: 'replica probe' },
          })
          const body = await probe.json()
          return (body.errors ?? []).map((e: { field: string }) => e.field.replace(/^body\./, '')).join(',')
        },
        { message: 'the service desk learns of the customer', timeout: 45_000 },
      )
      .toBe('mood')
    return { id: customer.id, name, contactId: contact.id }
  }

  async userId(username: string): Promise<string> {
    const page = await this.call('GET', '/api/v1/users?role=service_agent&limit=200')
    const user = page.items.find((u: Json) => u.username === username)
    expect(user, `user ${username}`).toBeTruthy()
    return user.id
  }

  /** A ticket taken through assign, resolve and close: its survey is issued. */
  async closedTicket(customerId: string, agentId: string): Promise<Json> {
    let ticket = await this.call('POST', '/api/v1/tickets', {
      customer_id: customerId,
      ticket_type: 'repair',
      description: '客户反映打印机频繁卡纸，影响日常办公',
    })
    ticket = await this.call('POST', `/api/v1/tickets/${ticket.id}/assign`, { assignee_id: agentId, version: ticket.version })
    ticket = await this.call('POST', `/api/v1/tickets/${ticket.id}/resolve`, { resolution: '上门更换进纸轮，测试打印正常', version: ticket.version })
    return this.call('POST', `/api/v1/tickets/${ticket.id}/close`, { version: ticket.version })
  }

  /** The survey token of the notification the notifier made for this contact. */
  async surveyToken(contactId: string): Promise<string> {
    let token = ''
    await expect
      .poll(
        async () => {
          const found = await this.call('GET', '/api/v1/notifications/deliveries?page_size=100')
          const row = found.items.find((d: Json) => d.kind === 'survey' && d.recipient_id === contactId)
          if (!row) return ''
          const notification = await this.call('GET', `/api/v1/notifications/${row.notification_id}`)
          token = String(notification.link ?? '').split('/survey/')[1] ?? ''
          return token
        },
        { message: 'the survey notification', timeout: 45_000 },
      )
      .not.toBe('')
    return token
  }
}
