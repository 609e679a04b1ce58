import { Setting } from '@element-plus/icons-vue'
import type { AreaRoutes } from '@/router/area'
import { mayOpenAdmin } from './tabs'

export default {
  routes: [
    {
      path: 'admin/:tab?',
      name: 'admin',
      component: () => import('./AdminPage.vue'),
      meta: { allowed: mayOpenAdmin, title: 'nav.admin' },
    },
  ],
  menu: [{ path: '/admin', label: 'nav.admin', icon: Setting, order: 90, visible: mayOpenAdmin }],
} satisfies AreaRoutes
