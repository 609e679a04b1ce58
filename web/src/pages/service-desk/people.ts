// Why: tickets name people by user id; the directory of people (stores/people.ts) and the
// service desk's agents give their names, and the ticket's own actors ("customer", "system")
// are words. Anyone else shows as a short id.
import { computed, ref } from 'vue'
import { useI18n } from 'vue-i18n'
import { useAuth } from '@/stores/auth'
import { usePeople as useDirectory } from '@/stores/people'
import { desk } from './api'
import type { Agent } from './types'

export function personName(id: string | null | undefined, names: Record<string, string>, fallback: string): string {
  if (!id) return '—'
  return names[id] ?? (id.length > 12 ? `${fallback} ${id.slice(0, 8)}` : id)
}

export function usePeople() {
  const { t } = useI18n()
  const auth = useAuth()
  const directory = useDirectory()
  const agents = ref<Agent[]>([])

  async function loadAgents(): Promise<void> {
    void directory.load()
    if (!auth.canRead('service-desk')) return
    try {
      agents.value = await desk.agents()
    } catch {
      agents.value = [] // names fall back to ids; the page itself still works
    }
  }

  const names = computed(() => {
    const out: Record<string, string> = { customer: t('serviceDesk.detail.customerActor'), system: t('serviceDesk.detail.systemActor') }
    for (const u of directory.all) out[u.id] = u.display_name
    for (const a of agents.value) out[a.user_id] = a.display_name
    if (auth.user) out[auth.user.id] = auth.user.display_name
    return out
  })

  const nameOf = (id: string | null | undefined) => personName(id, names.value, t('serviceDesk.detail.unknownPerson'))
  return { agents, loadAgents, names, nameOf }
}
