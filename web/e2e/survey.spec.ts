// The survey a customer opens from the link of a closed ticket, on a phone: no sign-in, a
// score and a comment, thanks; the link answered again (from a second tab) or reopened gets a
// friendly message, and a link that is not valid too.
import { expect, test } from '@playwright/test'
import { Admin } from './service-desk-support'
import { screenshot } from './support'

test.use({ viewport: { width: 375, height: 812 }, isMobile: true, hasTouch: true })

test('a customer scores the service on a phone; a second answer is refused kindly', async ({ page, context, request }) => {
  test.setTimeout(120_000) // a ticket's life and the notifier's survey, through events
  const admin = await Admin.signIn(request)
  const customer = await admin.customerWithContact('杭州问卷')
  const ticket = await admin.closedTicket(customer.id, await admin.userId('agent1'))
  const token = await admin.surveyToken(customer.contactId)

  await page.goto(`/survey/${token}`)
  await expect(page.getByTestId('survey-ticket')).toContainText(ticket.code)
  const second = await context.newPage()
  await second.goto(`/survey/${token}`)
  await expect(second.getByTestId('survey-ticket')).toContainText(ticket.code)

  const five = page.getByTestId('score-5')
  const box = await five.boundingBox()
  expect(box?.height ?? 0).toBeGreaterThanOrEqual(44)
  await page.getByTestId('survey-submit').click()
  await expect(page.getByRole('alert')).toContainText('请先选择一个评分')
  await five.tap()
  await expect(five).toHaveAttribute('aria-checked', 'true')
  await page.getByTestId('survey-comment').fill('上门及时，师傅很专业')
  await page.getByTestId('survey-comment').blur()
  await page.mouse.move(0, 0)
  await screenshot(page, 'survey-phone')
  await page.getByTestId('survey-submit').tap()
  await expect(page.getByTestId('survey-thanks')).toBeVisible()

  await second.getByTestId('score-2').tap()
  await second.getByTestId('survey-submit').tap()
  await expect(second.getByTestId('survey-answered')).toContainText('您已评价过')
  await second.close()

  await page.reload()
  await expect(page.getByTestId('survey-answered')).toBeVisible()
  await page.goto('/survey/not-a-real-survey-link-token-000000')
  await expect(page.getByTestId('survey-unknown')).toContainText('链接无效')

  const scored = await admin.call('GET', `/api/v1/tickets/${ticket.id}`)
  expect(scored.satisfaction).toBe(5)
})
