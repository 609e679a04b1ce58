import { expect, test } from '@playwright/test'
import { PEOPLE, signIn, signOut } from './support'

test('a wrong password gives a readable message and keeps what was typed', async ({ page }) => {
  await page.goto('/login')
  await page.getByTestId('username').fill(PEOPLE.rep)
  await page.getByTestId('password').fill('not-the-password')
  await page.getByTestId('sign-in').click()
  await expect(page.getByRole('alert')).toBeVisible()
  await expect(page.getByTestId('username')).toHaveValue(PEOPLE.rep)
  await expect(page).toHaveURL(/\/login/)
})

test('a person signs in, switches the language, and signs out', async ({ page }) => {
  await signIn(page, PEOPLE.rep)
  await expect(page.getByTestId('user-menu')).toHaveText('李销售')
  await page.goto('/profile')
  await expect(page.getByRole('heading', { name: '个人资料' })).toBeVisible()
  await page.getByTestId('language').first().click()
  await page.getByRole('option', { name: 'English' }).click()
  await expect(page.getByRole('heading', { name: 'Profile' })).toBeVisible()
  await page.reload()
  await expect(page.getByRole('heading', { name: 'Profile' })).toBeVisible()
  await page.getByTestId('language').first().click()
  await page.getByRole('option', { name: '简体中文' }).click()
  await signOut(page)
  await page.goto('/profile')
  await expect(page).toHaveURL(/\/login\?next=(%2F|\/)profile/)
})
