// Why: customers carry their owner's user id. The console knows the signed-in person's name;
// an admin may read the user directory (GET /api/v1/users), so an admin sees every name. Others
// see "me" for their own and a short id for the rest (the gateway has no directory for them).
import { ref } from 'vue'
import { useI18n } from 'vue-i18n'
import { api } from '@/api/client'
import { useAuth } from '@/stores/auth'

export interface Person {
  id: string
  username: string
  display_name: string
  roles: string[]
  active: boolean
}

const directory = ref<Record<string, Person>>({})
const people = ref<Person[]>([])
let asked = false

export function shortId(id: string): string {
  return id.length > 8 ? `${id.slice(0, 8)}…` : id
}

export function useOwnerNames() {
  const auth = useAuth()
  const { t } = useI18n()
  if (!asked && auth.hasRole('admin')) {
    asked = true
    api
      .get<{ items: Person[] }>('/api/v1/users', { limit: 200, active: true })
      .then((page) => {
        people.value = page.items
        directory.value = Object.fromEntries(page.items.map((p) => [p.id, p]))
      })
      .catch(() => {
        asked = false
      })
  }
  return {
    people,
    name(id: string | null | undefined): string {
      if (!id) return '—'
      if (id === auth.user?.id) return t('customers.owner.me', { name: auth.user.display_name })
      return directory.value[id]?.display_name ?? shortId(id)
    },
  }
}
