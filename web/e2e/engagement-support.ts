// Why: what the engagement and reports browser tests set up through the API (a customer of
// their own, known to engagement, with an overdue action item), so they depend on no other
// area's pages and no other spec's data.
import { expect, type APIRequestContext, type Page } from '@playwright/test'
import { PASSWORD, unique } from './support'

export async function tokenOf(request: APIRequestContext, username: string): Promise<string> {
  const response = await request.post('/api/v1/auth/login', { data: { username, password: PASSWORD } })
  expect(response.status()).toBe(200)
  return (await response.json()).access_token as string
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

/** A day relative to today in Asia/Shanghai (the stack's CRM_TIMEZONE), YYYY-MM-DD. */
export function shanghaiDay(offsetDays = 0): string {
  return new Date(Date.now() + offsetDays * 86_400_000).toLocaleDateString('en-CA', { timeZone: 'Asia/Shanghai' })
}

export interface Seeded {
  customerId: string
  customerName: string
  action: string
}

/**
 * A new customer of the signed-in rep and a follow-up on it with one action item due
 * yesterday (overdue). The follow-up is retried until engagement has heard of the customer
 * (its copy is kept from the customers' events).
 */
export async function customerWithOverdueAction(page: Page, token: string): Promise<Seeded> {
  const customerName = unique('测试客户')
  const created = await page.request.post('/api/v1/customers', {
    headers: bearer(token),
    data: { kind: 'enterprise', name: customerName, industry: 'manufacturing' },
  })
  expect(created.status(), await created.text()).toBe(201)
  const customerId = (await created.json()).id as string
  const action = unique('回访确认报价')
  await expect(async () => {
    const logged = await page.request.post('/api/v1/follow-ups', {
      headers: bearer(token),
      data: {
        customer_id: customerId,
        method: 'phone',
        summary: '电话沟通了采购计划和预算安排',
        feedback: 'neutral',
        action_items: [{ action, due_on: shanghaiDay(-1) }],
      },
    })
    expect(logged.status(), await logged.text()).toBe(201)
  }).toPass({ timeout: 20_000 })
  return { customerId, customerName, action }
}
