// The administration: users, API keys, webhooks, templates, SLA settings, parked events, and
// who may not see any of it.
import { expect, test, type Page } from '@playwright/test'
import { PASSWORD, PEOPLE, screenshot, signIn, signOut, unique } from './support'

/** An Element Plus number box: the data-test lands on its inner input or on its root. */
function numberInput(page: Page, testId: string) {
  return page.locator(`input[data-test="${testId}"], [data-test="${testId}"] input`).first()
}

async function chooseOption(page: Page, text: string | RegExp) {
  await page.locator('.el-select-dropdown__item:visible').filter({ hasText: text }).first().click()
}

test('the admin creates a user with a role, and that user signs in', async ({ page }) => {
  const username = unique('e2euser')
  await signIn(page, PEOPLE.admin)
  await page.getByTestId('nav-admin').click()
  await expect(page).toHaveURL(/\/admin/)
  await expect(page.getByTestId('users-table')).toBeVisible()
  await page.getByTestId('user-create').click()
  await page.getByTestId('user-username').fill(username)
  await page.getByTestId('user-display-name').fill(`测试 ${username}`)
  // A weak password is refused at its field, and what was typed stays.
  await page.getByTestId('user-password').fill('short')
  await page.getByTestId('user-role-service_agent').click()
  await page.getByTestId('user-save').click()
  await expect(page.locator('.el-form-item__error').first()).toBeVisible()
  await expect(page.getByTestId('user-username')).toHaveValue(username)
  await page.getByTestId('user-password').fill(PASSWORD)
  await page.getByTestId('user-save').click()
  await expect(page.getByTestId('users-table').getByText(username, { exact: true })).toBeVisible()
  await screenshot(page, 'admin-users')
  await signOut(page)

  await signIn(page, username)
  await expect(page.getByTestId('user-menu')).toHaveText(`测试 ${username}`)
  await expect(page.getByTestId('nav-admin')).toHaveCount(0)
})

test('the admin creates an API key and sees its secret once', async ({ page }) => {
  const name = unique('e2ekey')
  await signIn(page, PEOPLE.admin)
  await page.goto('/admin/api-keys')
  await page.getByTestId('key-create').click()
  await page.getByTestId('key-owner').click()
  await chooseOption(page, `(${PEOPLE.agent})`)
  await page.getByTestId('key-name').fill(name)
  // The owner's defaults: read on what a service agent reads.
  await expect(page.locator('[data-test="scope-tickets-read"] input, input[data-test="scope-tickets-read"]').first()).toBeChecked()
  await page.getByTestId('key-save').click()
  const secret = page.getByTestId('secret-value')
  await expect(secret).toHaveValue(/^crm_[0-9a-f]{12}_/)
  const key = await secret.inputValue()
  await page.getByTestId('secret-close').click()
  await expect(page.getByTestId('keys-table').getByText(name)).toBeVisible()
  await expect(page.getByText(key)).toHaveCount(0)
  await page.reload()
  await expect(page.getByTestId('keys-table').getByText(name)).toBeVisible()
  await expect(page.locator(`input[value="${key}"]`)).toHaveCount(0)
})

test('the admin subscribes a partner to webhooks and sees it listed', async ({ page }) => {
  const partner = unique('e2epartner')
  await signIn(page, PEOPLE.admin)
  await page.goto('/admin/webhooks')
  await page.getByTestId('webhook-create').click()
  await page.getByTestId('webhook-partner').fill(partner)
  await page.getByTestId('webhook-url').fill('http://127.0.0.1:9/crm-hook')
  await page.getByTestId('webhook-events').fill('ticket.*\nopportunity.won')
  await page.getByTestId('webhook-save').click()
  await expect(page.getByTestId('secret-value')).toHaveValue(/^whsec_/)
  await page.getByTestId('secret-close').click()
  const row = page.getByTestId('webhooks-table').locator('tr', { hasText: partner })
  await expect(row).toBeVisible()
  await expect(row.getByText('ticket.*')).toBeVisible()
  await page.getByTestId(`webhook-deliveries-${partner}`).click()
  await expect(page.getByTestId('deliveries-table')).toBeVisible()
})

test('the admin previews a template with sample data', async ({ page }) => {
  await signIn(page, PEOPLE.admin)
  await page.goto('/admin/templates')
  await page.getByTestId('template-ticket_assigned-zh-CN').click()
  await expect(page.getByTestId('template-subject')).toHaveValue(/code/)
  await page.getByTestId('template-facts').fill('{"code": "T-E2E-42", "title": "打印机卡纸"}')
  await page.getByTestId('template-preview').click()
  await expect(page.getByTestId('template-preview-subject')).toHaveText(/T-E2E-42 打印机卡纸/)
  // Unsaved text previews too; nothing is saved.
  await page.getByTestId('template-subject').fill('试看 {{ code }}')
  await page.getByTestId('template-preview').click()
  await expect(page.getByTestId('template-preview-subject')).toHaveText('试看 T-E2E-42')
  await page.reload()
  await page.getByTestId('template-ticket_assigned-zh-CN').click()
  await expect(page.getByTestId('template-subject')).not.toHaveValue(/试看/)
})

test('an SLA target changed by the admin is kept after a reload', async ({ page }) => {
  await signIn(page, PEOPLE.admin)
  await page.goto('/admin/sla')
  const box = numberInput(page, 'sla-first_response-0')
  await expect(box).not.toHaveValue('')
  const before = await box.inputValue()
  const changed = before === '7.25' ? '7.50' : '7.25'
  await box.fill(changed)
  await box.blur()
  await page.getByTestId('sla-save').click()
  await expect(page.locator('.el-message--success')).toBeVisible()
  await page.reload()
  await expect(numberInput(page, 'sla-first_response-0')).toHaveValue(changed)
  // Put it back, so other tests find the table as it was.
  await numberInput(page, 'sla-first_response-0').fill(before)
  await numberInput(page, 'sla-first_response-0').blur()
  await page.getByTestId('sla-save').click()
  await expect(page.locator('.el-message--success').last()).toBeVisible()
})

test('parked events are listed per service, with replay offered when there are any', async ({ page }) => {
  await signIn(page, PEOPLE.admin)
  await page.goto('/admin/parked')
  for (const service of ['customers', 'engagement', 'service-desk', 'notifier']) {
    const count = page.getByTestId(`parked-count-${service}`)
    await expect(page.getByTestId(`parked-${service}`)).toBeVisible()
    await expect(page.getByTestId(`parked-empty-${service}`).or(page.getByTestId(`parked-replay-${service}`))).toBeVisible()
    if ((await count.textContent())?.trim() !== '0') await expect(page.getByTestId(`parked-replay-${service}`)).toBeVisible()
  }
})

test('a sales rep has no administration: no menu entry, and /admin is not found', async ({ page }) => {
  await signIn(page, PEOPLE.rep)
  await expect(page.getByTestId('nav-notifications')).toBeVisible()
  await expect(page.getByTestId('nav-admin')).toHaveCount(0)
  await page.goto('/admin/users')
  await expect(page.getByText('404')).toBeVisible()
  await expect(page.getByTestId('admin-tabs')).toHaveCount(0)
  await expect(page.getByTestId('users-table')).toHaveCount(0)
})

test('a sales manager reads templates but cannot change them', async ({ page }) => {
  await signIn(page, PEOPLE.manager)
  await page.getByTestId('nav-admin').click()
  await expect(page.getByTestId('admin-tab-webhooks')).toBeVisible()
  await expect(page.getByTestId('admin-tab-users')).toHaveCount(0)
  await page.getByTestId('admin-tab-templates').click()
  await page.getByTestId('template-survey-zh-CN').click()
  await expect(page.getByTestId('template-preview')).toBeVisible()
  await expect(page.getByTestId('template-save')).toHaveCount(0)
  await page.getByTestId('admin-tab-reminders').click()
  await expect(numberInput(page, 'reminder-hour')).toBeDisabled()
  await expect(page.getByTestId('reminders-save')).toHaveCount(0)
})
