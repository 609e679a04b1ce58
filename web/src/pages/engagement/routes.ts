// Why: the engagement area's pages (my day, follow-ups, opportunities and their analytics)
// and menu entries; discovered by the router (src/router/area.ts).
import { Calendar, ChatDotRound, TrendCharts } from '@element-plus/icons-vue'
import type { AreaRoutes } from '@/router/area'

const areaRoutes: AreaRoutes = {
  routes: [
    { path: 'my-day', name: 'my-day', component: () => import('./MyDay.vue'), meta: { area: 'follow-ups', title: 'nav.myDay' } },
    { path: 'follow-ups', name: 'follow-ups', component: () => import('./FollowUps.vue'), meta: { area: 'follow-ups', title: 'nav.followUps' } },
    { path: 'opportunities', name: 'opportunities', component: () => import('./Opportunities.vue'), meta: { area: 'opportunities', title: 'nav.opportunities' } },
    {
      path: 'opportunities/analytics',
      name: 'opportunity-analytics',
      component: () => import('./Analytics.vue'),
      meta: { area: 'analytics', title: 'engagement.analytics.title' },
    },
    { path: 'opportunities/:id', name: 'opportunity', component: () => import('./OpportunityDetail.vue'), meta: { area: 'opportunities', title: 'engagement.opp.detail' } },
  ],
  menu: [
    { path: '/my-day', label: 'nav.myDay', icon: Calendar, order: 10, area: 'follow-ups' },
    { path: '/follow-ups', label: 'nav.followUps', icon: ChatDotRound, order: 30, area: 'follow-ups' },
    { path: '/opportunities', label: 'nav.opportunities', icon: TrendCharts, order: 40, area: 'opportunities' },
  ],
}

export default areaRoutes
