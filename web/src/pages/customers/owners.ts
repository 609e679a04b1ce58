// Why: customers carry their owner's user id; the gateway's directory of people
// (stores/people.ts) gives every signed-in person their colleagues' names, and the signed-in
// person sees "me" beside their own.
import { computed } from 'vue'
import { useI18n } from 'vue-i18n'
import { usePeople, type Person } from '@/stores/people'
import { useAuth } from '@/stores/auth'

export type { Person }

export function useOwnerNames() {
  const auth = useAuth()
  const directory = usePeople()
  const { t } = useI18n()
  void directory.load()
  return {
    people: computed(() => directory.active),
    name(id: string | null | undefined): string {
      if (!id) return '—'
      if (id === auth.user?.id) return t('customers.owner.me', { name: auth.user.display_name })
      return directory.nameOf(id)
    },
  }
}
