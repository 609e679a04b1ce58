// Why: records name people by user id (a customer's owner, a ticket's assignee, who moved an
// opportunity). The gateway's directory (GET /api/v1/people, every signed-in person may read
// it) gives their names, once per sign-in; pickers (owner transfer, assignment) list from it.
import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import { api } from '@/api/client'

export interface Person {
  id: string
  username: string
  display_name: string
  roles: string[]
  team: string | null
  active: boolean
}

/** "a1b2c3d4…": how a person the directory does not know is shown. */
export function shortId(id: string): string {
  return id.length > 12 ? `${id.slice(0, 8)}…` : id
}

export const usePeople = defineStore('people', () => {
  const all = ref<Person[]>([])
  let loading: Promise<void> | null = null

  const byId = computed(() => new Map(all.value.map((p) => [p.id, p])))
  const active = computed(() => all.value.filter((p) => p.active))

  /** Loads the directory once (again after `forget`); a failure leaves names as short ids. */
  function load(): Promise<void> {
    loading ??= api
      .get<{ items: Person[] }>('/api/v1/people', { include_inactive: true })
      .then((page) => {
        all.value = page.items
      })
      .catch(() => {
        loading = null
      })
    return loading
  }

  function nameOf(id: string | null | undefined): string {
    if (!id) return '—'
    return byId.value.get(id)?.display_name ?? shortId(id)
  }

  /** Active people with any of the roles, by name. */
  function withRole(...roles: string[]): Person[] {
    return active.value
      .filter((p) => p.roles.some((r) => roles.includes(r)))
      .sort((a, b) => a.display_name.localeCompare(b.display_name, 'zh-CN'))
  }

  function forget(): void {
    all.value = []
    loading = null
  }

  /** After a change to people (an admin created or edited one). */
  function reload(): Promise<void> {
    loading = null
    return load()
  }

  return { all, active, load, reload, nameOf, withRole, forget }
})
