// Why: the console's own list speed as a person feels it, in Debian's Chromium: for each list
// page, the time from clicking "next page" to that page's rows on screen (the API call, the
// render and the paint, measured in the page), and the first load of the page. Run by bench/console.py, which starts the
// stack and passes CRM_CONSOLE_URL, the people and LISTS (JSON: [{name, path, user}]).
// Prints one JSON object on stdout.
import { chromium } from '@playwright/test'

const base = process.env.CRM_CONSOLE_URL
const lists = JSON.parse(process.env.LISTS)
const passwords = JSON.parse(process.env.PASSWORDS)
const rounds = Number(process.env.ROUNDS ?? 40)

const browser = await chromium.launch({
  executablePath: process.env.CRM_CHROMIUM ?? '/usr/bin/chromium',
  args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-dev-shm-usage'],
})

async function signIn(page, user) {
  await page.goto(`${base}/login`)
  await page.locator('[data-test=username]').fill(user)
  await page.locator('[data-test=password]').fill(passwords[user])
  await page.locator('[data-test=sign-in]').click()
  await page.waitForURL((url) => !url.pathname.startsWith('/login'))
}

const rows = '.el-table__body-wrapper tbody tr'
const results = {}
for (const list of lists) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'zh-CN' })
  const page = await context.newPage()
  await signIn(page, list.user)
  const t0 = Date.now()
  await page.goto(`${base}${list.path}`)
  await page.locator(rows).nth(list.expect - 1).waitFor({ timeout: 30_000 })
  const firstLoad = Date.now() - t0
  const pages = []
  let failures = 0
  process.stderr.write(`${list.name}: ${firstLoad} ms first load\n`)
  for (let round = 0; round < rounds; round++) {
    // Measured in the page, from the click to the next frame after the new rows are in the
    // DOM (the API call, the render, the paint), so the driver's own overhead is not counted.
    const elapsed = await page.evaluate(
      ([sel]) =>
        new Promise((resolve) => {
          const before = document.querySelector(sel)?.innerText
          const next = document.querySelector('.el-pagination .btn-next')
          const last = !next || next.disabled
          const button = last ? document.querySelector('.el-pagination .el-pager li') : next
          const start = performance.now()
          button.click()
          const check = () => {
            const all = document.querySelectorAll(sel)
            if (all.length > 0 && all[0].innerText !== before) // the rows of one page render together
              requestAnimationFrame(() => setTimeout(() => resolve(last ? null : performance.now() - start), 0))
            else if (performance.now() - start > 10_000) resolve(-1) // never came: counted as a failure
            else setTimeout(check, 2)
          }
          check()
        }),
      [rows],
    )
    if (elapsed === -1) failures += 1
    else if (elapsed !== null) pages.push(elapsed)
  }
  pages.sort((a, b) => a - b)
  const q = (p) => Math.round(pages[Math.min(pages.length - 1, Math.floor(p * pages.length))])
  results[list.name] = { first_load_ms: firstLoad, next_page_p50_ms: q(0.5), next_page_p95_ms: q(0.95), next_page_max_ms: Math.round(pages.at(-1)), rounds: pages.length, failures, rows: await page.locator(rows).count() }
  await context.close()
}
await browser.close()
console.log(JSON.stringify(results))
