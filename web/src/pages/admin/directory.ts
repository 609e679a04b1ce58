// Why: the administration tables name people (owners, actors, managers) by id; admins may
// list users, so one shared lookup of up to 200 people turns ids into names.
import { ref } from 'vue'
import { api } from '@/api/client'
import type { User } from '@/stores/auth'

const people = ref<User[]>([])
let loading: Promise<void> | null = null

export function useDirectory() {
  function reload(): Promise<void> {
    loading = api
      .get<{ items: User[]; next_cursor: string | null }>('/api/v1/users', { limit: 200 })
      .then((page) => {
        people.value = page.items
      })
      .catch(() => undefined)
    return loading
  }
  if (!loading) void reload()
  function nameOf(id: string | null | undefined): string {
    if (!id) return '—'
    const found = people.value.find((p) => p.id === id)
    return found ? `${found.display_name} (${found.username})` : id
  }
  return { people, reload, nameOf }
}
