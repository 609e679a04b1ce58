// A complaint's life in the console: agent1 opens it (knowledge-base suggestions appear while
// typing), supervisor1 assigns it from the to-assign list and sees its SLA clock, agent1 adds
// a note, resolves and closes it. Then a knowledge-base article is written and found.
import { expect, test } from '@playwright/test'
import { Admin } from './service-desk-support'
import { PEOPLE, screenshot, signIn, unique } from './support'

test.describe.configure({ mode: 'serial' })

let customer: { id: string; name: string }
let word: string
let articleQuestion: string
let code: string

test.beforeAll(async ({ request }) => {
  test.setTimeout(90_000) // the events that tell the service desk of the customer may queue on a busy machine
  const admin = await Admin.signIn(request)
  customer = await admin.customerWithContact('宁波精工')
  // The to-assign list is where a complaint waits when the team has no supervisor.
  const teams = await admin.call('GET', '/api/v1/service-desk/teams')
  const team = teams.find((x: { key: string }) => x.key === 'default')
  if (team.supervisor_id) {
    await admin.call('PUT', '/api/v1/service-desk/teams/default', { name: team.name, calendar_key: team.calendar_key, strategy: team.strategy, supervisor_id: null, version: team.version })
  }
  word = unique('ZK')
  articleQuestion = `${word} 打印机卡纸怎么处理`
  await admin.call('POST', '/api/v1/kb/articles', {
    question: articleQuestion,
    answer: '关闭电源，取出卡住的纸张，清理进纸轮后重新开机。',
    tags: ['打印机'],
    status: 'published',
  })
})

test('agent1 opens a complaint while the knowledge base suggests an answer', async ({ page }) => {
  await signIn(page, PEOPLE.agent)
  await page.goto('/tickets')
  await page.getByTestId('new-ticket').click()
  await expect(page).toHaveURL(/\/tickets\/new$/)

  await page.getByTestId('ticket-customer').click()
  await page.getByTestId('ticket-customer').locator('input').fill(customer.name)
  await page.getByRole('option', { name: new RegExp(customer.name) }).click()
  await page.getByTestId('ticket-type').click()
  await page.getByRole('option', { name: '投诉' }).click()
  await page.getByTestId('ticket-mood').click()
  await page.getByRole('option', { name: '激动' }).click()
  await page.getByTestId('ticket-title').fill(`${word} 打印机卡纸`)
  await expect(page.getByTestId('kb-suggestion').filter({ hasText: articleQuestion })).toBeVisible()
  await page.getByTestId('ticket-description').fill('客户投诉打印机反复卡纸，已影响开票，情绪激动')
  await page.getByTestId('ticket-submit').click()

  await expect(page).toHaveURL(/\/tickets\/[0-9a-f-]{36}$/)
  const heading = await page.getByTestId('ticket-heading').textContent()
  code = /FW\d+/.exec(heading ?? '')?.[0] ?? ''
  expect(code).not.toBe('')
  await expect(page.getByTestId('ticket-status')).toHaveText('待分配')
  await expect(page.getByTestId('action-take')).toBeVisible()
  await expect(page.getByTestId('action-resolve')).toHaveCount(0)
})

test('supervisor1 assigns it from the to-assign list and sees its SLA clock', async ({ page }) => {
  await signIn(page, PEOPLE.supervisor)
  await page.goto('/tickets')
  await expect(page.getByTestId('view-to-assign')).toBeVisible()
  const row = page.getByRole('row').filter({ has: page.getByTestId(`ticket-${code}`) })
  await expect(row).toBeVisible()
  await expect(row.getByTestId(`sla-${code}`)).toContainText('剩余')
  await row.getByTestId(`assignee-${code}`).click()
  await page.getByRole('option', { name: /赵客服/ }).click()
  await row.getByTestId(`assign-${code}`).click()
  await expect(page.getByTestId(`ticket-${code}`)).toHaveCount(0)

  await page.getByTestId('view-open').click()
  const open = page.getByRole('row').filter({ has: page.getByTestId(`ticket-${code}`) })
  await expect(open).toContainText('赵客服')
  await expect(open.getByTestId(`sla-${code}`)).toContainText('剩余')
})

test('agent1 adds a note, resolves the complaint and closes it', async ({ page }) => {
  await signIn(page, PEOPLE.agent)
  await page.goto('/tickets')
  await page.getByTestId(`ticket-${code}`).click()
  await expect(page.getByTestId('ticket-status')).toHaveText('处理中')
  await expect(page.getByTestId('ticket-assignee')).toHaveText('赵客服')
  await expect(page.getByTestId('clock-resolve')).toContainText('剩余')
  await expect(page.getByTestId('action-close')).toHaveCount(0)

  await page.getByTestId('note').fill('已致电客户致歉，约定明天上门检修')
  await page.getByTestId('note-contacted').click()
  await page.getByTestId('add-note').click()
  await expect(page.getByTestId('ticket-log')).toContainText('已致电客户致歉，约定明天上门检修')
  await expect(page.getByTestId('clock-first_response')).toContainText('已达成')
  await expect(page.getByTestId('ticket-log')).toContainText('由主管分配')
  await page.getByTestId('ticket-heading').scrollIntoViewIfNeeded()
  await screenshot(page, 'ticket')

  await page.getByTestId('action-resolve').click()
  await page.getByTestId('resolution').fill('上门更换进纸轮，客户确认打印正常')
  await page.getByTestId('dialog-confirm').click()
  await expect(page.getByTestId('ticket-status')).toHaveText('已解决')
  await expect(page.getByTestId('ticket-resolution')).toHaveText('上门更换进纸轮，客户确认打印正常')

  await page.getByTestId('action-close').click()
  await page.getByTestId('dialog-confirm').click()
  await expect(page.getByTestId('ticket-status')).toHaveText('已关闭')
  await expect(page.getByTestId('action-reopen')).toHaveCount(0)
  await expect(page.getByTestId('add-note')).toHaveCount(0)
})

test('agent1 writes a knowledge-base article and finds it', async ({ page }) => {
  const question = `${unique('VPN')} 无法连接怎么办`
  await signIn(page, PEOPLE.agent)
  await page.goto('/kb')
  await page.getByTestId('kb-new').click()
  await page.getByTestId('kb-question').fill(question)
  await page.getByTestId('kb-answer').fill('检查账号是否过期，重新安装客户端后再试。')
  await page.getByTestId('kb-save').click()
  await expect(page.getByTestId('kb-heading')).toHaveText(question)

  await page.goto('/kb')
  await page.getByTestId('kb-search').fill(question.split(' ')[0])
  await page.getByTestId('kb-search-submit').click()
  await expect(page.getByTestId('kb-article-link').filter({ hasText: question })).toBeVisible()
})

test('supervisor1 sets up a team that sends its complaints to them', async ({ page }) => {
  const key = unique('t').toLowerCase()
  await signIn(page, PEOPLE.supervisor)
  await page.goto('/tickets')
  await page.getByTestId('team-setup').click()
  await expect(page.getByTestId('team-table')).toContainText('default')
  await expect(page.getByTestId('agent-table')).toContainText('赵客服')
  await page.getByTestId('team-new').click()
  await page.getByTestId('team-key').fill(key)
  await page.getByTestId('team-name').fill(`客服二组 ${key}`)
  await page.getByTestId('team-supervisor').click()
  await page.getByRole('option', { name: /陈主管/ }).click()
  await page.getByTestId('team-strategy').click()
  await page.getByRole('option', { name: '最空闲优先' }).click()
  await page.getByTestId('team-save').click()
  const row = page.getByTestId('team-table').getByRole('row').filter({ hasText: key })
  await expect(row).toContainText('陈主管')
  await expect(row).toContainText('最空闲优先')
})
