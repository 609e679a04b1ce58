// Forms a screen reader can read: every visible control on the main pages has a name (a
// label tied to it, aria-label or aria-labelledby), and the sign-in form works from the
// keyboard alone.
import { expect, test, type Page } from '@playwright/test'
import { PASSWORD, PEOPLE, signIn } from './support'

async function unnamedControls(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const controls = Array.from(document.querySelectorAll<HTMLElement>('input, textarea, select, [role="combobox"]'))
    return controls
      .filter((el) => {
        const style = getComputedStyle(el)
        const input = el as HTMLInputElement
        if (input.type === 'hidden' || input.type === 'file' || style.visibility === 'hidden' || style.display === 'none') return false
        if (el.closest('[aria-hidden="true"]')) return false
        const box = el.getBoundingClientRect()
        return box.width > 0 && box.height > 0
      })
      .filter((el) => {
        const labelled = (el as HTMLInputElement).labels?.length
        const named = el.getAttribute('aria-label') || el.getAttribute('aria-labelledby') || el.getAttribute('title')
        return !labelled && !named
      })
      .map((el) => `${location.pathname}: <${el.tagName.toLowerCase()} ${el.getAttribute('placeholder') ?? ''} ${el.className}>`)
  })
}

const PAGES: Record<string, string[]> = {
  [PEOPLE.rep]: ['/my-day', '/customers', '/follow-ups', '/opportunities', '/opportunities?view=list', '/tickets', '/kb', '/notifications', '/profile'],
  [PEOPLE.supervisor]: ['/tickets', '/tickets/new', '/reports'],
  [PEOPLE.admin]: ['/admin/users', '/admin/api-keys', '/admin/webhooks', '/admin/templates', '/admin/reminders', '/admin/sla', '/admin/audit'],
}

for (const [person, paths] of Object.entries(PAGES)) {
  test(`every form control has a name on ${person}'s pages`, async ({ page }) => {
    await signIn(page, person)
    const unnamed: string[] = []
    for (const path of paths) {
      await page.goto(path)
      await page.waitForLoadState('networkidle')
      unnamed.push(...(await unnamedControls(page)))
    }
    expect(unnamed).toEqual([])
  })
}

test('signing in works from the keyboard alone', async ({ page }) => {
  await page.goto('/login')
  await expect(page.getByTestId('username')).toBeFocused()
  await page.keyboard.type(PEOPLE.rep)
  await page.keyboard.press('Tab')
  await page.keyboard.type(PASSWORD)
  await page.keyboard.press('Enter')
  await expect(page).not.toHaveURL(/\/login/)
})
