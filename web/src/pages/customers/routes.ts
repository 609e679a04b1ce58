// Why: the customers area: its pages and its menu entry (collected by src/router).
import { User } from '@element-plus/icons-vue'
import type { AreaRoutes } from '@/router/area'

const area: AreaRoutes = {
  routes: [
    {
      path: 'customers',
      name: 'customers',
      component: () => import('./CustomerList.vue'),
      meta: { area: 'customers', title: 'customers.title' },
    },
    {
      path: 'customers/import',
      name: 'customers-import',
      component: () => import('./CustomerImport.vue'),
      meta: { area: 'customers', title: 'customers.import.title' },
    },
    {
      path: 'customers/change-requests',
      name: 'customers-change-requests',
      component: () => import('./ChangeRequests.vue'),
      meta: { area: 'change-requests', title: 'customers.cr.title' },
    },
    {
      path: 'customers/:id',
      name: 'customer-360',
      component: () => import('./Customer360.vue'),
      props: true,
      meta: { area: 'customers', title: 'customers.view.title' },
    },
  ],
  menu: [{ path: '/customers', label: 'customers.menu', icon: User, order: 20, area: 'customers' }],
}

export default area
