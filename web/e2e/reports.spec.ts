import { expect, test } from '@playwright/test'
import { bearer, customerWithOverdueAction, tokenOf } from './engagement-support'
import { PEOPLE, screenshot, signIn, unique } from './support'

test('a manager sees the pipeline with the won amount on analytics and reports', async ({ page }) => {
  // A won opportunity of rep1's, made through the API.
  const rep = await tokenOf(page.request, PEOPLE.rep)
  const { customerId } = await customerWithOverdueAction(page, rep)
  const created = await page.request.post('/api/v1/opportunities', {
    headers: bearer(rep),
    data: { customer_id: customerId, name: unique('报表商机'), expected_amount: '50000' },
  })
  expect(created.status(), await created.text()).toBe(201)
  const opportunity = await created.json()
  const moved = await page.request.post(`/api/v1/opportunities/${opportunity.id}/stage`, {
    headers: bearer(rep),
    data: { to: 'won', note: '签约完成', version: opportunity.version, actual_amount: '45678.90', contract_number: unique('HT-') },
  })
  expect(moved.status(), await moved.text()).toBe(200)

  const manager = await tokenOf(page.request, PEOPLE.manager)
  const figures = await (await page.request.get('/api/v1/analytics/pipeline', { headers: bearer(manager) })).json()
  expect(Number(figures.won_amount)).toBeGreaterThanOrEqual(45678.9)
  const wonText = Number(figures.won_amount).toLocaleString('zh-CN', { style: 'currency', currency: 'CNY', maximumFractionDigits: 2 })

  await signIn(page, PEOPLE.manager)
  await page.goto('/opportunities/analytics')
  await expect(page.getByTestId('an-pipeline').locator('canvas')).toBeVisible()
  await expect(page.getByTestId('an-win-table')).toContainText(wonText)

  await page.getByTestId('nav-reports').click()
  await expect(page).toHaveURL(/\/reports/)
  const pipeline = page.getByTestId('report-pipeline')
  await expect(pipeline.locator('canvas')).toBeVisible()
  await expect(pipeline.getByTestId('report-pipeline-table')).toContainText('成交')
  await expect(pipeline.getByTestId('report-won-amount')).toContainText(wonText)
  await expect(page.getByTestId('report-customers').locator('canvas')).toBeVisible()
  await expect(page.getByTestId('report-sla')).toBeVisible()
  await screenshot(page, 'report')
})

test('a service agent sees the service-desk sections only', async ({ page }) => {
  await signIn(page, PEOPLE.agent)
  await page.goto('/reports')
  await expect(page.getByTestId('report-sla')).toBeVisible()
  await expect(page.getByTestId('report-csat')).toBeVisible()
  await expect(page.getByTestId('report-complaints')).toBeVisible()
  await expect(page.getByTestId('report-pipeline')).toHaveCount(0)
  await expect(page.getByTestId('nav-opportunities')).toHaveCount(0)
})
