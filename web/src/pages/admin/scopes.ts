// Why: an API key acts as its owner narrowed by its scopes (a scope never widens the owner's
// role). The form shows one row per scope group with read / write boxes; a write box brings
// its read box along, and groups the owner's roles cannot use at all are marked so.
// The scope names are the gateway's (crm_gateway.domain.routes.SCOPES).
import { canRead, canWrite, type Area } from '@/roles'

export interface ScopeGroup {
  /** The scope's prefix: "customers" → customers:read / customers:write. */
  key: string
  /** The console area whose access the owner needs (roles.ts). */
  area: Area
  /** A single scope for every method (webhooks:manage) instead of read/write. */
  manage?: boolean
  /** Only reads exist in practice (meta). */
  readOnly?: boolean
}

export const SCOPE_GROUPS: ScopeGroup[] = [
  { key: 'customers', area: 'customers' },
  { key: 'meta', area: 'customers', readOnly: true },
  { key: 'follow-ups', area: 'follow-ups' },
  { key: 'opportunities', area: 'opportunities' },
  { key: 'analytics', area: 'analytics' },
  { key: 'tickets', area: 'tickets' },
  { key: 'kb', area: 'kb' },
  { key: 'service-desk', area: 'service-desk' },
  { key: 'notifications', area: 'notifications' },
  { key: 'webhooks', area: 'webhooks', manage: true },
  { key: 'admin', area: 'admin' },
]

export type Level = 'none' | 'read' | 'write'

export interface ScopeRow {
  key: string
  level: Level
  manage: boolean
  readOnly: boolean
  /** What the owner's roles allow here: a scope above it would add nothing. */
  ownerMax: Level
}

export function ownerMax(group: ScopeGroup, ownerRoles: readonly string[]): Level {
  if (group.key === 'meta') return ownerRoles.length ? 'read' : 'none'
  if (canWrite(ownerRoles, group.area)) return group.readOnly ? 'read' : 'write'
  return canRead(ownerRoles, group.area) ? 'read' : 'none'
}

/** The rows for a form, from the scopes chosen so far and the owner's roles. */
export function scopeRows(scopes: readonly string[], ownerRoles: readonly string[]): ScopeRow[] {
  const chosen = new Set(scopes)
  return SCOPE_GROUPS.map((group) => {
    let level: Level = 'none'
    if (group.manage) level = chosen.has(`${group.key}:manage`) ? 'write' : 'none'
    else if (chosen.has(`${group.key}:write`)) level = 'write'
    else if (chosen.has(`${group.key}:read`)) level = 'read'
    return {
      key: group.key,
      level,
      manage: !!group.manage,
      readOnly: !!group.readOnly,
      ownerMax: ownerMax(group, ownerRoles),
    }
  })
}

/** The scopes to send for these rows: write brings read along; manage is one scope. */
export function scopesOf(rows: readonly ScopeRow[]): string[] {
  const out: string[] = []
  for (const row of rows) {
    if (row.level === 'none') continue
    if (row.manage) out.push(`${row.key}:manage`)
    else {
      out.push(`${row.key}:read`)
      if (row.level === 'write' && !row.readOnly) out.push(`${row.key}:write`)
    }
  }
  return out
}

/** Ticking or unticking one box: write implies read, dropping read drops write. */
export function toggle(row: ScopeRow, box: 'read' | 'write', checked: boolean): Level {
  if (box === 'write') return checked ? 'write' : row.level === 'none' ? 'none' : 'read'
  return checked ? (row.level === 'write' ? 'write' : 'read') : 'none'
}

/** The scopes a sensible default key for this owner gets: read on everything they may read. */
export function defaultScopes(ownerRoles: readonly string[]): string[] {
  return scopesOf(
    scopeRows([], ownerRoles).map((r) => ({ ...r, level: r.ownerMax === 'none' || r.manage ? 'none' : 'read' })),
  )
}
