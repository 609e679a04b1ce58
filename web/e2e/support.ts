// Why: what every browser test needs: the seeded people, signing in through the sign-in page,
// and screenshots written where docs/console.md lists them.
import { expect, type Page } from '@playwright/test'
import { mkdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** Seeded by tests/test_web_console.py (tests/console_people.py), all with one password. */
export const PEOPLE = {
  admin: process.env.CRM_CONSOLE_ADMIN ?? 'admin',
  rep: 'rep1',
  otherRep: 'rep2',
  manager: 'manager1',
  supervisor: 'supervisor1',
  agent: 'agent1',
} as const

export const PASSWORD = process.env.CRM_CONSOLE_PASSWORD ?? 'Console-pass-2026'
export const ADMIN_PASSWORD = process.env.CRM_CONSOLE_ADMIN_PASSWORD ?? 'crm-dev-admin-2026'

const SCREENSHOTS = join(dirname(fileURLToPath(import.meta.url)), '..', 'test-results', 'screenshots')

/** A name unique to this run, so tests never collide with an earlier run's records. */
export function unique(prefix: string): string {
  return `${prefix}${Date.now().toString(36).slice(-5)}${Math.floor(Math.random() * 100)}`
}

export async function signIn(page: Page, username: string): Promise<void> {
  const password = username === PEOPLE.admin ? ADMIN_PASSWORD : PASSWORD
  await page.goto('/login')
  await page.getByTestId('username').fill(username)
  await page.getByTestId('password').fill(password)
  await page.getByTestId('sign-in').click()
  await expect(page).not.toHaveURL(/\/login/)
}

export async function signOut(page: Page): Promise<void> {
  await page.getByTestId('user-menu').click()
  await page.getByTestId('sign-out').click()
  await expect(page).toHaveURL(/\/login/)
}

/** A full-page screenshot under web/test-results/screenshots/<name>.png. */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true })
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true })
}
