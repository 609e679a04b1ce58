// The inbox: a message the admin sends through the API reaches a sales rep's inbox; marking
// it read lowers the header bell's count.
import { expect, test, type APIRequestContext, type Page } from '@playwright/test'
import { ADMIN_PASSWORD, PEOPLE, screenshot, signIn, unique } from './support'

async function adminToken(request: APIRequestContext): Promise<string> {
  const answer = await request.post('/api/v1/auth/login', { data: { username: PEOPLE.admin, password: ADMIN_PASSWORD } })
  expect(answer.ok()).toBeTruthy()
  return (await answer.json()).access_token
}

async function userId(request: APIRequestContext, token: string, username: string): Promise<string> {
  const answer = await request.get('/api/v1/users', { params: { limit: 200 }, headers: { authorization: `Bearer ${token}` } })
  expect(answer.ok()).toBeTruthy()
  const found = (await answer.json()).items.find((u: { username: string }) => u.username === username)
  return found.id
}

async function bellCount(page: Page): Promise<number> {
  const label = (await page.getByTestId('inbox-bell').getAttribute('aria-label')) ?? ''
  return Number(label.split(':').pop())
}

test('a message reaches the inbox, and marking it read lowers the bell', async ({ page, request }) => {
  const subject = unique('E2E 通知 ')
  const token = await adminToken(request)
  const rep = await userId(request, token, PEOPLE.rep)
  const sent = await request.post('/api/v1/notifications/messages', {
    data: { subject, text: '请查看本周的跟进计划。', user_ids: [rep] },
    headers: { authorization: `Bearer ${token}` },
  })
  expect(sent.ok()).toBeTruthy()
  expect((await sent.json()).count).toBe(1)

  await signIn(page, PEOPLE.rep)
  await page.getByTestId('nav-notifications').click()
  const row = page.getByTestId('inbox-table').locator('tr', { hasText: subject })
  await expect(row).toBeVisible()
  await expect(row.getByTestId('inbox-unread-mark')).toBeVisible()
  await expect.poll(() => bellCount(page)).toBeGreaterThan(0)
  const before = await bellCount(page)
  await screenshot(page, 'inbox')

  await row.getByTestId('inbox-mark-read').click()
  await expect(row.getByTestId('inbox-unread-mark')).toHaveCount(0)
  await expect.poll(() => bellCount(page)).toBe(before - 1)
  await page.reload()
  await expect(page.getByTestId('inbox-table').locator('tr', { hasText: subject }).getByTestId('inbox-unread-mark')).toHaveCount(0)
})

test('marking all read empties the bell, and preferences keep quiet hours', async ({ page, request }) => {
  const token = await adminToken(request)
  const rep = await userId(request, token, PEOPLE.otherRep)
  await request.post('/api/v1/notifications/messages', {
    data: { subject: unique('E2E 全部 '), text: '第一条', user_ids: [rep] },
    headers: { authorization: `Bearer ${token}` },
  })
  await signIn(page, PEOPLE.otherRep)
  await page.goto('/notifications')
  await expect.poll(() => bellCount(page)).toBeGreaterThan(0)
  await page.getByTestId('inbox-mark-all').click()
  await expect.poll(() => bellCount(page)).toBe(0)
  await expect(page.getByTestId('inbox-unread-mark')).toHaveCount(0)

  await page.getByTestId('inbox-preferences').click()
  await expect(page.getByTestId('inbox-preferences-card')).toBeVisible()
  await page.getByLabel('免打扰开始').click()
  await page.getByRole('option', { name: '22:00', exact: true }).click()
  await page.getByLabel('免打扰结束').click()
  // The start's list may still be fading out: the end's list is the later one.
  await page.getByRole('option', { name: '07:00', exact: true }).last().click()
  await page.getByTestId('preferences-save').click()
  await expect(page.locator('.el-message--success').last()).toBeVisible()
  await page.reload()
  await page.getByTestId('inbox-preferences').click()
  await expect(page.getByTestId('inbox-preferences-card')).toContainText('22:00')
})
