// Why: the reports page (报表), for roles that read the analytics or the service desk.
import { DataAnalysis } from '@element-plus/icons-vue'
import type { AreaRoutes } from '@/router/area'
import { canRead } from '@/roles'

const visible = (roles: readonly string[]) => canRead(roles, 'analytics') || canRead(roles, 'service-desk')

const areaRoutes: AreaRoutes = {
  routes: [{ path: 'reports', name: 'reports', component: () => import('./Reports.vue'), meta: { allowed: visible, title: 'nav.reports' } }],
  menu: [{ path: '/reports', label: 'nav.reports', icon: DataAnalysis, order: 80, visible }],
}

export default areaRoutes
