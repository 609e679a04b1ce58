// The customers area as sales people use it: create (a field error first, the typed input
// kept), the duplicate warning, a positive follow-up from the 360 page turning a prospect into
// intent, another rep not seeing the customer, a manager approving a won customer's rename,
// and the list's filters surviving a reload.
import { expect, test, type Page } from '@playwright/test'
import { PEOPLE, screenshot, signIn, unique } from './support'

async function pick(page: Page, testId: string, option: string) {
  await page.getByTestId(testId).click()
  await page.getByRole('option', { name: option, exact: true }).click()
}

/** Creates a customer through the API as the signed-in person (faster than the drawer). */
async function apiCustomer(page: Page, name: string, extra: Record<string, unknown> = {}): Promise<string> {
  const token = await page.evaluate(() => JSON.parse(localStorage.getItem('crm.session') ?? '{}').access as string)
  const response = await page.request.post('/api/v1/customers', {
    headers: { authorization: `Bearer ${token}` },
    data: { kind: 'enterprise', name, industry: 'manufacturing', allow_duplicate: true, ...extra },
  })
  expect(response.status()).toBe(201)
  return (await response.json()).id as string
}

test('a rep creates a customer: a bad value is named at its field and what was typed stays', async ({ page }) => {
  await signIn(page, PEOPLE.rep)
  const core = unique('星辰')
  const name = `杭州${core}网络科技有限公司`
  await page.goto('/customers')
  await page.getByTestId('new-customer').click()
  await page.getByTestId('cf-name').fill(name)
  await pick(page, 'cf-industry', '制造业')
  await page.getByTestId('cf-credit-code').fill('123')
  await page.getByTestId('cf-contact-name').fill('张经理')
  await page.getByTestId('cf-save').click()
  const creditItem = page.locator('.el-form-item').filter({ has: page.getByTestId('cf-credit-code') })
  await expect(creditItem.locator('.el-form-item__error')).toContainText('18')
  await expect(page.getByTestId('cf-name')).toHaveValue(name)
  await expect(page.getByTestId('cf-contact-name')).toHaveValue('张经理')
  await page.getByTestId('cf-credit-code').fill('')
  await page.getByTestId('cf-save').click()
  await expect(page).toHaveURL(/\/customers\/[0-9a-f-]{36}$/)
  await expect(page.getByTestId('customer-name')).toHaveText(name)

  // A similar one (same core name, another company form) is a warning with the candidate.
  await page.goto('/customers')
  await page.getByTestId('new-customer').click()
  await page.getByTestId('cf-name').fill(`${core}网络科技股份有限公司`)
  await pick(page, 'cf-industry', '制造业')
  await page.getByTestId('cf-save').click()
  const warning = page.getByTestId('duplicate-warning')
  await expect(warning).toBeVisible()
  await expect(warning.getByTestId('duplicate-candidate')).toContainText(name)
  await page.getByTestId('create-anyway').click()
  await expect(page).toHaveURL(/\/customers\/[0-9a-f-]{36}$/)
  await expect(page.getByTestId('customer-name')).toHaveText(`${core}网络科技股份有限公司`)
})

test('a positive follow-up logged from the 360 page makes the prospect an intent customer; another rep cannot see it', async ({ page }) => {
  await signIn(page, PEOPLE.rep)
  const name = unique('跟进测试客户')
  const id = await apiCustomer(page, name)
  await page.goto(`/customers/${id}`)
  await expect(page.getByTestId('customer-lifecycle')).toHaveText('潜在客户')

  await page.keyboard.press('n')
  await expect(page.getByTestId('qf-summary')).toBeFocused()
  await page.keyboard.type('电话沟通了产品报价，客户很有兴趣，下周约演示')
  await page.getByTestId('quick-follow-up').getByText('积极', { exact: true }).click()
  await page.getByTestId('qf-actions').fill('发送报价单\n预约产品演示')
  await page.getByTestId('qf-summary').focus()
  await page.keyboard.press('Control+Enter')
  await expect(page.getByTestId('follow-up-entry').first()).toContainText('电话沟通了产品报价')
  await expect(page.getByTestId('follow-up-entry').first()).toContainText('预约产品演示')
  await expect(page.getByTestId('customer-lifecycle')).toHaveText('意向客户', { timeout: 20_000 })
  await expect(page.getByTestId('qf-summary')).toHaveValue('')
  await screenshot(page, 'customer-360')

  await page.context().clearCookies()
  await page.evaluate(() => localStorage.clear())
  await signIn(page, PEOPLE.otherRep)
  await page.goto(`/customers?q=${encodeURIComponent(name)}`)
  await expect(page.getByTestId('customer-total')).toHaveText('共 0 条')
  await expect(page.getByTestId('customer-table')).not.toContainText(name)
  await page.goto(`/customers/${id}`)
  await expect(page.getByTestId('customer-not-found')).toContainText('找不到该客户，或它不属于您')

  // A service agent reads every customer but not sales' follow-ups or opportunities: the
  // gateway marks those sections, and the page says so instead of breaking.
  await page.evaluate(() => localStorage.clear())
  await signIn(page, PEOPLE.agent)
  await page.goto(`/customers/${id}`)
  await expect(page.getByTestId('customer-name')).toHaveText(name)
  await expect(page.getByTestId('section-unavailable')).toHaveCount(2)
  await expect(page.getByTestId('section-unavailable').first()).toContainText('此部分暂不可用')
  await expect(page.getByTestId('quick-follow-up')).toHaveCount(0)
  await expect(page.getByTestId('edit-customer')).toHaveCount(0)
})

test('renaming a won customer is a change request a manager approves', async ({ page }) => {
  await signIn(page, PEOPLE.rep)
  const name = unique('成交客户')
  const renamed = `${name}新`
  // Won from the start (lifecycle is a field the API takes; the rule is "the customer is won",
  // no won opportunity needed).
  const id = await apiCustomer(page, name, { lifecycle: 'won' })
  await page.goto(`/customers/${id}`)
  await expect(page.getByTestId('customer-lifecycle')).toHaveText('成交客户')
  await page.getByTestId('edit-customer').click()
  await page.getByTestId('cf-name').fill(renamed)
  await page.getByTestId('cf-change-reason').fill('工商变更后的新名称')
  await page.getByTestId('cf-save').click()
  await expect(page.getByTestId('pending-change')).toContainText(renamed)
  await expect(page.getByTestId('customer-name')).toHaveText(name)

  await page.evaluate(() => localStorage.clear())
  await signIn(page, PEOPLE.manager)
  await page.goto('/customers/change-requests')
  const row = page.getByTestId('cr-table').locator('tr').filter({ hasText: renamed })
  await expect(row).toContainText(name)
  await row.getByTestId('cr-approve').click()
  await page.getByTestId('cr-reason').fill('核对营业执照无误')
  await page.getByTestId('cr-confirm').click()
  await expect(page.getByTestId('cr-table').locator('tr').filter({ hasText: renamed })).toHaveCount(0)
  await page.getByTestId('cr-status').click()
  await page.getByRole('option', { name: '已通过' }).click()
  await expect(page.getByTestId('cr-table').locator('tr').filter({ hasText: renamed }).getByTestId('cr-row-status')).toHaveText('已通过')
  await page.getByTestId('cr-table').getByRole('link', { name: renamed }).click()
  await expect(page.getByTestId('customer-name')).toHaveText(renamed)
})

test('the list keeps its filters, search and sort in the URL across a reload', async ({ page }) => {
  await signIn(page, PEOPLE.rep)
  const prefix = unique('筛选')
  await apiCustomer(page, `${prefix}甲公司`)
  await apiCustomer(page, `${prefix}乙公司`)
  await page.goto('/customers')
  await page.getByTestId('customer-search').fill(prefix)
  await page.getByTestId('customer-search').press('Enter')
  await expect(page.getByTestId('customer-total')).toHaveText('共 2 条')
  await pick(page, 'filter-lifecycle', '潜在客户')
  await page.getByTestId('customer-table').getByText('客户名称').click()
  await expect(page).toHaveURL(/sort=name/)
  await expect(page).toHaveURL(/lifecycle=prospect/)
  await page.reload()
  await expect(page.getByTestId('customer-search')).toHaveValue(prefix)
  await expect(page.getByTestId('customer-total')).toHaveText('共 2 条')
  const lifecycleFilter = page.locator('.el-form-item').filter({ has: page.getByRole('combobox', { name: '客户类型' }) })
  await expect(lifecycleFilter).toContainText('潜在客户')
  await expect(page.getByTestId('customer-row-name')).toHaveText([`${prefix}甲公司`, `${prefix}乙公司`])
  await screenshot(page, 'customers-list')

  // The export takes the current filter.
  const download = page.waitForEvent('download')
  await page.getByTestId('export').click()
  await page.getByRole('menuitem', { name: 'CSV' }).click()
  const file = await download
  expect(file.suggestedFilename()).toMatch(/\.csv$/)
  const text = await (await import('node:fs/promises')).readFile(await file.path(), 'utf8')
  expect(text).toContain(`${prefix}甲公司`)
  expect(text.trim().split('\n')).toHaveLength(3)

  await pick(page, 'filter-lifecycle', '意向客户')
  await expect(page).toHaveURL(/lifecycle=intent/)
  await page.goBack()
  await expect(page).not.toHaveURL(/lifecycle=intent/)
  await expect(page.getByTestId('customer-total')).toHaveText('共 2 条')
})

test('contacts with consent per channel, tags, grading, archive and restore, and an import checked before it is committed', async ({ page }) => {
  await signIn(page, PEOPLE.rep)
  const name = unique('联系人测试')
  await page.goto(`/customers/${await apiCustomer(page, name)}`)
  await expect(page.getByTestId('customer-name')).toHaveText(name)

  await page.getByTestId('add-contact').click()
  await page.getByTestId('ct-name').fill('王采购')
  await page.getByTestId('ct-mobile').fill('12345')
  await page.getByTestId('ct-save').click()
  const mobileItem = page.locator('.el-form-item').filter({ has: page.getByTestId('ct-mobile') })
  await expect(mobileItem.locator('.el-form-item__error')).toContainText('mainland mobile')
  await expect(page.getByTestId('ct-name')).toHaveValue('王采购')
  await page.getByTestId('ct-mobile').fill(`139${String(Date.now()).slice(-8)}`)
  await page.getByTestId('ct-opt-out-email').click()
  await page.getByTestId('ct-save').click()
  const contacts = page.getByTestId('contacts')
  await expect(contacts).toContainText('王采购')
  await expect(contacts.getByTestId('opt-out-email')).toHaveText('不接收邮件营销')
  await expect(contacts.getByTestId('opt-out-sms')).toHaveCount(0)

  await page.getByTestId('edit-customer').click()
  await pick(page, 'cf-tags', '高预算')
  await page.keyboard.press('Escape')
  await page.getByTestId('cf-save').click()
  await expect(page.getByTestId('customer-360')).toContainText('高预算')

  await page.getByTestId('grade-customer').click()
  const grading = page.getByTestId('grading-dialog')
  for (let n = 0; n < 6; n++) await grading.getByTestId(`grade-score-${n}`).locator('input').fill('90')
  await grading.getByTestId('grade-save').click()
  await expect(grading.getByTestId('grade-result')).toContainText('A')
  await page.keyboard.press('Escape')
  await expect(page.getByTestId('customer-grade')).toContainText('A')

  await page.getByTestId('archive-customer').click()
  await page.getByRole('button', { name: '确定' }).click()
  await expect(page.getByTestId('customer-360').getByText('已归档').first()).toBeVisible()
  await expect(page.getByTestId('quick-follow-up')).toHaveCount(0)
  await page.getByTestId('archive-customer').click()
  await page.getByRole('button', { name: '确定' }).click()
  await expect(page.getByTestId('quick-follow-up')).toBeVisible()

  const good = unique('导入客户')
  await page.goto('/customers/import')
  await page.getByTestId('import-file').setInputFiles({
    name: 'customers.csv',
    mimeType: 'text/csv',
    buffer: Buffer.from(`name,kind,industry\n${good},enterprise,manufacturing\n${good}坏,enterprise,no_such_industry\n`),
  })
  await page.getByTestId('import-check').click()
  const report = page.getByTestId('import-messages')
  await expect(report.locator('tr').filter({ hasText: 'no_such_industry' })).toContainText('industry')
  await expect(report.locator('tr').filter({ hasText: 'no_such_industry' })).toContainText('3')
  await page.getByTestId('import-commit').click()
  await expect(page.getByTestId('import-created')).toContainText('1')
  await page.goto(`/customers?q=${encodeURIComponent(good)}`)
  await expect(page.getByTestId('customer-row-name')).toHaveText([good])
})
