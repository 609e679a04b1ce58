// Why: engagement's records carry only a customer id; lists show the customer's name, asked
// of the customers service once per id per visit (a name that cannot be had shows the code
// of the id instead of failing the list).
import { reactive } from 'vue'
import { api } from '@/api/client'
import { shortId } from '@/stores/people'

const names = reactive(new Map<string, string>())
const asked = new Set<string>()

export function customerName(id: string | null | undefined): string {
  if (!id) return '—'
  return names.get(id) ?? id.slice(0, 8)
}

export async function loadCustomerNames(ids: Array<string | null | undefined>): Promise<void> {
  const wanted = [...new Set(ids.filter((id): id is string => !!id && !asked.has(id)))]
  wanted.forEach((id) => asked.add(id))
  await Promise.all(
    wanted.map(async (id) => {
      try {
        const customer = await api.get<{ name: string; code: string }>(`/api/v1/customers/${id}`)
        names.set(id, customer.name)
      } catch {
        asked.delete(id)
      }
    }),
  )
}

export function rememberCustomer(id: string, name: string): void {
  names.set(id, name)
  asked.add(id)
}

/** A person by id: "me" for the signed-in person, else their name from the directory
 * (`nameOf`, stores/people.ts), else a short form of the id. */
export function personLabel(
  id: string | null | undefined,
  me: string,
  meLabel: string,
  nameOf: (id: string) => string = shortId,
): string {
  if (!id) return '—'
  if (id === me) return meLabel
  return nameOf(id)
}
