// Why: each area of the console (pages/<area>/routes.ts) declares its pages and menu entries;
// the router and the side menu collect them, so adding an area edits no shared file.
import type { Component } from 'vue'
import type { RouteRecordRaw } from 'vue-router'
import type { Area } from '@/roles'

export interface MenuEntry {
  path: string
  /** An i18n key. */
  label: string
  icon: Component
  /** Lower comes first. */
  order: number
  /** Shown when the person may read this area (absent: everyone signed in). */
  area?: Area
  /** Or a finer rule on the roles. */
  visible?: (roles: readonly string[]) => boolean
}

export interface AreaRoutes {
  /** Pages inside the signed-in layout. A route's meta.area hides it from roles that cannot read it. */
  routes: RouteRecordRaw[]
  menu?: MenuEntry[]
  /** Pages outside it that need no sign-in (the survey a customer opens from a link). */
  publicRoutes?: RouteRecordRaw[]
}

declare module 'vue-router' {
  interface RouteMeta {
    /** No sign-in needed. */
    public?: boolean
    /** The area a person must be able to read to open the page. */
    area?: Area
    /** Or a finer rule on the roles. */
    allowed?: (roles: readonly string[]) => boolean
    /** An i18n key for the page's title. */
    title?: string
  }
}
