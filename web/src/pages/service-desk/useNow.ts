// Why: SLA clocks count down while a page is open: one `now` that moves every minute.
import { onBeforeUnmount, onMounted, ref } from 'vue'

export function useNow(everyMs = 60_000) {
  const now = ref(new Date())
  let timer: number | undefined
  onMounted(() => {
    timer = window.setInterval(() => (now.value = new Date()), everyMs)
  })
  onBeforeUnmount(() => window.clearInterval(timer))
  return now
}
