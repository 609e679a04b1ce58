// Why: the console hides what a role cannot do. The gateway and the services decide (a
// hidden button is a courtesy, not a rule); this mirrors docs/gateway-routes.md's access
// matrix so that a menu entry or a button shows only where the call would be admitted.

export type Role =
  | 'admin'
  | 'sales_manager'
  | 'sales_rep'
  | 'service_supervisor'
  | 'service_agent'
  | 'viewer'

export type Area =
  | 'customers'
  | 'industries'
  | 'tags'
  | 'change-requests'
  | 'grading'
  | 'follow-ups'
  | 'action-items'
  | 'opportunities'
  | 'engagement'
  | 'analytics'
  | 'tickets'
  | 'kb'
  | 'service-desk'
  | 'notifications'
  | 'webhooks'
  | 'notification-templates'
  | 'partner-queues'
  | 'admin'
  | 'users'

type Access = 'RW' | 'R' | '-'
const ORDER: Role[] = ['admin', 'sales_manager', 'sales_rep', 'service_supervisor', 'service_agent', 'viewer']

// Columns in ORDER. Keep in step with the gateway's route table (docs/gateway-routes.md).
const MATRIX: Record<Area, Access[]> = {
  customers: ['RW', 'RW', 'RW', 'R', 'R', 'R'],
  industries: ['RW', 'R', 'R', 'R', 'R', 'R'],
  tags: ['RW', 'R', 'R', 'R', 'R', 'R'],
  'change-requests': ['RW', 'RW', 'RW', 'R', 'R', 'R'],
  grading: ['RW', 'R', 'R', 'R', 'R', 'R'],
  'follow-ups': ['RW', 'RW', 'RW', '-', '-', 'R'],
  'action-items': ['RW', 'RW', 'RW', '-', '-', 'R'],
  opportunities: ['RW', 'RW', 'RW', '-', '-', 'R'],
  engagement: ['RW', 'RW', 'RW', '-', '-', 'R'],
  analytics: ['RW', 'RW', '-', 'RW', '-', 'R'],
  tickets: ['RW', 'RW', 'RW', 'RW', 'RW', 'R'],
  kb: ['RW', 'R', 'R', 'RW', 'RW', 'R'],
  'service-desk': ['RW', 'R', '-', 'RW', 'RW', 'R'],
  notifications: ['RW', 'RW', 'RW', 'RW', 'RW', 'RW'],
  webhooks: ['RW', 'RW', '-', 'RW', 'RW', 'RW'],
  'notification-templates': ['RW', 'R', '-', 'R', '-', '-'],
  'partner-queues': ['RW', '-', '-', '-', '-', '-'],
  admin: ['RW', '-', '-', '-', '-', '-'],
  users: ['RW', '-', '-', '-', '-', '-'],
}

function access(roles: readonly string[], area: Area): Access[] {
  return roles.filter((r): r is Role => ORDER.includes(r as Role)).map((r) => MATRIX[area][ORDER.indexOf(r)])
}

export function canRead(roles: readonly string[], area: Area): boolean {
  return access(roles, area).some((a) => a !== '-')
}

export function canWrite(roles: readonly string[], area: Area): boolean {
  return access(roles, area).includes('RW')
}

export function hasRole(roles: readonly string[], ...wanted: Role[]): boolean {
  return roles.some((r) => wanted.includes(r as Role))
}

/** Approving change requests and seeing the whole team's pipeline: managers and admins. */
export function isManager(roles: readonly string[]): boolean {
  return hasRole(roles, 'admin', 'sales_manager')
}

export function isSupervisor(roles: readonly string[]): boolean {
  return hasRole(roles, 'admin', 'service_supervisor')
}
