// Why: one way every page reports a failure (a readable message, never a raw error) and
// keeps the form's per-field messages from the API's problem details.
import { ElMessage } from 'element-plus'
import { ref, type Ref } from 'vue'
import { ApiError, readableMessage } from '@/api/problem'

export function messageOf(error: unknown): string {
  if (error instanceof ApiError) return error.message
  if (error instanceof Error && error.message) return error.message
  return readableMessage({ status: 0 })
}

export function showError(error: unknown): void {
  ElMessage({ type: 'error', message: messageOf(error), showClose: true, duration: 6000 })
}

export function showSaved(message: string): void {
  ElMessage({ type: 'success', message })
}

/**
 * A form's save: `fieldErrors` holds the API's per-field messages for `el-form-item :error`;
 * what was typed is never cleared on failure (the caller clears it on success). A failure is
 * shown as a message unless `toast: false` (the form shows `error` itself).
 */
export function useSubmit<A extends unknown[], R>(
  action: (...args: A) => Promise<R>,
  options: { toast?: boolean } = {},
) {
  const busy = ref(false)
  const fieldErrors = ref<Record<string, string>>({})
  const error = ref<string | null>(null)

  async function submit(...args: A): Promise<R | undefined> {
    busy.value = true
    fieldErrors.value = {}
    error.value = null
    try {
      return await action(...args)
    } catch (caught) {
      if (caught instanceof ApiError) fieldErrors.value = caught.fields
      error.value = messageOf(caught)
      if (options.toast !== false) showError(caught)
      return undefined
    } finally {
      busy.value = false
    }
  }

  return { submit, busy, fieldErrors, error }
}

/** A page's data: `load()` fetches, `error` holds a readable message when it failed. */
export function useLoad<T>(fetcher: () => Promise<T>, initial: T) {
  const data = ref(initial) as Ref<T>
  const loading = ref(false)
  const error = ref<string | null>(null)

  async function load(): Promise<void> {
    loading.value = true
    error.value = null
    try {
      data.value = await fetcher()
    } catch (caught) {
      error.value = messageOf(caught)
    } finally {
      loading.value = false
    }
  }

  return { data, loading, error, load }
}
