import { expect, test } from '@playwright/test'
import { customerWithOverdueAction, tokenOf } from './engagement-support'
import { PEOPLE, screenshot, signIn, unique } from './support'

test('a rep creates an opportunity and moves it across the board to won, with amount and contract number', async ({ page }) => {
  await signIn(page, PEOPLE.rep)
  const token = await tokenOf(page.request, PEOPLE.rep)
  const { customerName } = await customerWithOverdueAction(page, token)

  await page.goto('/opportunities')
  await page.getByTestId('opp-create').click()
  const dialog = page.getByTestId('opp-create-dialog')
  await dialog.locator('#opp-customer').click()
  await page.keyboard.type(customerName)
  await page.getByRole('option', { name: new RegExp(customerName) }).click()
  const name = unique('年度采购项目')
  await dialog.getByTestId('opp-name').fill(name)
  await dialog.getByTestId('opp-amount').fill('120000')
  await dialog.getByTestId('opp-save').click()
  await expect(dialog).toBeHidden()

  const card = page.locator('[data-test^="card-"]', { hasText: name })
  await expect(page.getByTestId('column-initial_contact').locator('[data-test^="card-"]', { hasText: name })).toBeVisible()

  // Drag and drop to needs analysis: the dialog asks for a progress note.
  await card.dragTo(page.getByTestId('column-needs_analysis'))
  const move = page.getByTestId('move-dialog')
  await expect(move).toBeVisible()
  await move.getByTestId('move-submit').click()
  await expect(move.locator('.el-form-item__error')).toHaveText(['请填写进展说明（至少 2 个字）'])
  await move.getByTestId('move-note').fill('客户确认了需求范围')
  await move.getByTestId('move-submit').click()
  await expect(move).toBeHidden()
  await expect(page.getByTestId('column-needs_analysis').locator('[data-test^="card-"]', { hasText: name })).toBeVisible()

  // The card's menu (keyboard way): to won, which needs the amount and the contract number.
  await card.getByTestId('card-move').click()
  await page.getByRole('menuitem', { name: '成交' }).click()
  await expect(move).toBeVisible()
  await move.getByTestId('move-note').fill('合同已签订')
  await move.getByTestId('move-submit').click()
  await expect(move.locator('.el-form-item__error')).toHaveText(['必填', '必填'])
  await move.getByTestId('move-amount').fill('98000')
  await move.getByTestId('move-contract').fill(`HT-${'9'.repeat(70)}`)
  await move.getByTestId('move-submit').click()
  // The API refuses the over-long contract number: its message shows at that field.
  await expect(move.getByTestId('move-error')).toBeVisible()
  await expect(move.locator('.el-form-item', { has: page.locator('#move-contract') }).locator('.el-form-item__error')).toBeVisible()
  await expect(move.getByTestId('move-amount')).toHaveValue('98000')
  await move.getByTestId('move-contract').fill(unique('HT-2026-'))
  await move.getByTestId('move-submit').click()
  await expect(move).toBeHidden()
  const won = page.getByTestId('column-won')
  await expect(won.locator('[data-test^="card-"]', { hasText: name })).toContainText('98,000')
  await screenshot(page, 'pipeline-board')

  // The detail keeps the stage history.
  await won.locator('[data-test^="card-"]', { hasText: name }).getByRole('link', { name }).click()
  await expect(page.getByTestId('detail-stage')).toHaveText('成交')
  await expect(page.getByTestId('opportunity-detail')).toContainText('合同已签订')
  await expect(page.getByTestId('opportunity-detail')).toContainText('客户确认了需求范围')
})

test('my day shows an overdue action item, marking it done removes it, and it fits a phone', async ({ page }) => {
  await signIn(page, PEOPLE.rep)
  const token = await tokenOf(page.request, PEOPLE.rep)
  const { action, customerName } = await customerWithOverdueAction(page, token)

  await page.goto('/my-day')
  const row = page.getByTestId('action-item').filter({ hasText: action })
  await expect(row).toBeVisible()
  await expect(row).toContainText('逾期 1 天')
  await expect(row).toContainText(customerName)
  await screenshot(page, 'my-day')

  await page.setViewportSize({ width: 375, height: 812 })
  await page.reload()
  await expect(row).toBeVisible()
  await page.waitForLoadState('networkidle')
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)
  expect(overflow).toBeLessThanOrEqual(0)
  await screenshot(page, 'my-day-phone')

  await row.getByTestId('complete-action').click()
  await expect(row).toHaveCount(0)
  await page.reload()
  await expect(page.getByTestId('my-day-actions')).toBeVisible()
  await expect(page.getByTestId('action-item').filter({ hasText: action })).toHaveCount(0)
})

test('the follow-up list filters by result and pages by 50', async ({ page }) => {
  await signIn(page, PEOPLE.rep)
  const token = await tokenOf(page.request, PEOPLE.rep)
  const { customerName } = await customerWithOverdueAction(page, token)
  await page.goto('/follow-ups?scope=mine&outcome=continue')
  await expect(page.getByTestId('fu-table')).toContainText(customerName)
  await expect(page.getByTestId('fu-pager')).toContainText(/共 \d+ 条/)
  await page.goto('/follow-ups?scope=mine&outcome=won')
  await expect(page.getByTestId('fu-table')).not.toContainText(customerName)
})
