import { createRouter, createWebHistory, type RouteLocationNormalized, type RouteRecordRaw } from 'vue-router'
import AppLayout from '@/layout/AppLayout.vue'
import SignIn from '@/pages/SignIn.vue'
import Profile from '@/pages/Profile.vue'
import NotFound from '@/pages/NotFound.vue'
import { canRead } from '@/roles'
import { useAuth } from '@/stores/auth'
import type { AreaRoutes, MenuEntry } from './area'

const areas = Object.values(import.meta.glob<{ default: AreaRoutes }>('../pages/*/routes.ts', { eager: true })).map(
  (m) => m.default,
)

export const menu: MenuEntry[] = areas.flatMap((a) => a.menu ?? []).sort((a, b) => a.order - b.order)

/** Where a person lands after signing in: the first menu entry they may open. */
export function homeFor(roles: readonly string[]): string {
  const entry = menu.find((m) => menuVisible(m, roles))
  return entry?.path ?? '/profile'
}

export function menuVisible(entry: MenuEntry, roles: readonly string[]): boolean {
  if (entry.visible) return entry.visible(roles)
  return entry.area ? canRead(roles, entry.area) : true
}

export function routeAllowed(route: RouteLocationNormalized, roles: readonly string[]): boolean {
  for (const record of route.matched) {
    if (record.meta.allowed && !record.meta.allowed(roles)) return false
    if (record.meta.area && !canRead(roles, record.meta.area)) return false
  }
  return true
}

const routes: RouteRecordRaw[] = [
  { path: '/login', name: 'login', component: SignIn, meta: { public: true } },
  ...areas.flatMap((a) => a.publicRoutes ?? []).map((r) => ({ ...r, meta: { ...r.meta, public: true } })),
  {
    path: '/',
    component: AppLayout,
    children: [
      { path: '', name: 'home', component: NotFound, beforeEnter: () => homeFor(useAuth().roles) },
      { path: 'profile', name: 'profile', component: Profile, meta: { title: 'nav.profile' } },
      ...areas.flatMap((a) => a.routes),
      { path: ':pathMatch(.*)*', name: 'not-found', component: NotFound },
    ],
  },
]

export const router = createRouter({ history: createWebHistory(), routes })

router.beforeEach((to) => {
  if (to.meta.public) return true
  const auth = useAuth()
  if (!auth.signedIn) return { name: 'login', query: to.fullPath !== '/' ? { next: to.fullPath } : {} }
  if (!routeAllowed(to, auth.roles)) return { name: 'not-found', params: { pathMatch: to.path.slice(1).split('/') } }
  return true
})
