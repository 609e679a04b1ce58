import { createApp } from 'vue'
import { createPinia } from 'pinia'
import ElementPlus from 'element-plus'
import 'element-plus/dist/index.css'
import App from './App.vue'
import { i18n } from './i18n'
import { router } from './router'
import './styles.css'
import { showError } from './composables/feedback'

const app = createApp(App)
app.use(createPinia())
app.use(i18n)
app.use(router)
app.use(ElementPlus)
// Nothing reaches a person as a raw error: what no page caught becomes a readable message.
app.config.errorHandler = (error) => showError(error)
window.addEventListener('unhandledrejection', (event) => showError(event.reason))
// After a release, a page still showing the old version may ask for a chunk that is gone:
// load the new version instead of failing.
router.onError((error, to) => {
  if (/dynamically imported module|Importing a module script failed/.test(String(error))) window.location.assign(to.fullPath)
  else showError(error)
})
app.mount('#app')
