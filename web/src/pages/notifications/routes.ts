import { Bell } from '@element-plus/icons-vue'
import type { AreaRoutes } from '@/router/area'

export default {
  routes: [
    {
      path: 'notifications',
      name: 'notifications',
      component: () => import('./InboxPage.vue'),
      meta: { area: 'notifications', title: 'nav.notifications' },
    },
  ],
  menu: [{ path: '/notifications', label: 'nav.notifications', icon: Bell, order: 70, area: 'notifications' }],
} satisfies AreaRoutes
