// Why: the satisfaction survey a customer opens from the link in an SMS or email: public (no
// sign-in), outside the console's layout.
import type { AreaRoutes } from '@/router/area'

const area: AreaRoutes = {
  routes: [],
  publicRoutes: [{ path: '/survey/:token', name: 'survey', component: () => import('./SurveyPage.vue') }],
}

export default area
