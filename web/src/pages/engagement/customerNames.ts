// Why: engagement's records carry only a customer id; lists show the customer's name, asked
// of the customers service in one call per page (`GET /customers?id=…`, up to 200 ids), once
// per id per visit; a name that cannot be had shows the start of the id instead of failing
// the list.
import { reactive } from 'vue'
import { api } from '@/api/client'
import { shortId } from '@/stores/people'

const names = reactive(new Map<string, string>())
const asked = new Set<string>()

export function customerName(id: string | null | undefined): string {
  if (!id) return '—'
  return names.get(id) ?? id.slice(0, 8)
}

const BATCH = 200 // the most ids the customers service takes in one list call

export async function loadCustomerNames(ids: Array<string | null | undefined>): Promise<void> {
  const wanted = [...new Set(ids.filter((id): id is string => !!id && !asked.has(id)))]
  wanted.forEach((id) => asked.add(id))
  const batches = []
  for (let start = 0; start < wanted.length; start += BATCH) batches.push(wanted.slice(start, start + BATCH))
  await Promise.all(
    batches.map(async (batch) => {
      try {
        const page = await api.get<{ items: Array<{ id: string; name: string }> }>('/api/v1/customers', {
          id: batch,
          page_size: BATCH,
        })
        page.items.forEach((customer) => names.set(customer.id, customer.name))
      } catch {
        batch.forEach((id) => asked.delete(id)) // asked again on the next page
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
