// Why: which administration tabs a role sees, and which of them it may change. Admins see
// everything; sales managers and service supervisors see the parts the gateway lets them read
// (webhooks, templates read-only, and their own side's settings); everyone else sees nothing,
// so the menu entry and /admin are hidden from them. The API still decides every call.
import { canRead, canWrite, hasRole } from '@/roles'

export type TabKey = 'users' | 'api-keys' | 'webhooks' | 'templates' | 'reminders' | 'sla' | 'parked' | 'audit'

export const TAB_ORDER: TabKey[] = ['users', 'api-keys', 'webhooks', 'templates', 'reminders', 'sla', 'parked', 'audit']

export interface TabAccess {
  key: TabKey
  /** May change what the tab shows (else read-only). */
  write: boolean
}

/** The tabs a person with these roles sees, in order, with write access. */
export function tabsFor(roles: readonly string[]): TabAccess[] {
  const admin = hasRole(roles, 'admin')
  const manager = hasRole(roles, 'sales_manager')
  const supervisor = hasRole(roles, 'service_supervisor')
  const out: TabAccess[] = []
  for (const key of TAB_ORDER) {
    if (admin) {
      out.push({ key, write: true })
      continue
    }
    if (!manager && !supervisor) continue
    switch (key) {
      case 'webhooks':
        if (canRead(roles, 'webhooks')) out.push({ key, write: canWrite(roles, 'webhooks') })
        break
      case 'templates':
        if (canRead(roles, 'notification-templates')) out.push({ key, write: canWrite(roles, 'notification-templates') })
        break
      case 'reminders':
        // Engagement settings: sales managers read them, only admins change them.
        if (manager) out.push({ key, write: false })
        break
      case 'sla':
        // Calendars and SLA targets: service staff read, supervisors change.
        if (supervisor) out.push({ key, write: true })
        break
      default:
        break
    }
  }
  return out
}

export function mayOpenAdmin(roles: readonly string[]): boolean {
  return tabsFor(roles).length > 0
}

/** The tab to show for a route parameter: the one asked for if visible, else the first visible. */
export function chooseTab(asked: string | undefined, roles: readonly string[]): TabKey | null {
  const tabs = tabsFor(roles)
  return tabs.find((t) => t.key === asked)?.key ?? tabs[0]?.key ?? null
}
