// Why: the gateway's people lists (users, API keys, audit) page by cursor with no total; each
// tab loads a page of 50 for its filters, starts again when they change, and goes back and
// forth through the cursors it has seen (paging.ts).
import { onMounted, ref } from 'vue'
import { api, type Query } from '@/api/client'
import { useLoad } from '@/composables/feedback'
import { back, current, firstPage, forward, received, type CursorState } from './paging'

export const PAGE = 50

export function useCursorList<T>(path: string, filters: () => Query) {
  const cursor = ref<CursorState>(firstPage())
  const { data, loading, error, load } = useLoad(async () => {
    const page = await api.get<{ items: T[]; next_cursor: string | null }>(path, {
      ...filters(),
      cursor: current(cursor.value),
      limit: PAGE,
    })
    cursor.value = received(cursor.value, page.next_cursor)
    return page.items
  }, [] as T[])
  onMounted(load)

  /** The filters changed: from the first page again. */
  function search(): void {
    cursor.value = firstPage()
    void load()
  }

  function go(to: 'back' | 'forward'): void {
    cursor.value = to === 'back' ? back(cursor.value) : forward(cursor.value)
    void load()
  }

  return { data, loading, error, load, cursor, search, go }
}
