// Why: the signed-in person: tokens kept in this browser (localStorage, so a reload keeps the
// session), one refresh at a time, the profile (/auth/me) with roles that drive the menus.

import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import { api, request, useTokenSource } from '@/api/client'
import type { Area } from '@/roles'
import { canRead, canWrite, hasRole, type Role } from '@/roles'

export interface User {
  id: string
  username: string
  display_name: string
  email: string | null
  mobile: string | null
  roles: string[]
  team: string | null
  manager_id: string | null
  active: boolean
  version: number
}

interface Tokens {
  access_token: string
  refresh_token: string
  expires_in: number
  refresh_expires_at: string
  session_id: string
  user: User
}

const STORAGE_KEY = 'crm.session'

interface Stored {
  access: string
  refresh: string
  user: User
}

function load(): Stored | null {
  try {
    const raw = localStorage.getItem(STORAGE_KEY)
    return raw ? (JSON.parse(raw) as Stored) : null
  } catch {
    return null
  }
}

export const useAuth = defineStore('auth', () => {
  const stored = load()
  const access = ref<string | null>(stored?.access ?? null)
  const refreshToken = ref<string | null>(stored?.refresh ?? null)
  const user = ref<User | null>(stored?.user ?? null)
  const onSignedOut: Array<() => void> = []

  const signedIn = computed(() => access.value !== null && user.value !== null)
  const roles = computed(() => user.value?.roles ?? [])

  function save(): void {
    if (access.value && refreshToken.value && user.value) {
      localStorage.setItem(STORAGE_KEY, JSON.stringify({ access: access.value, refresh: refreshToken.value, user: user.value }))
    } else localStorage.removeItem(STORAGE_KEY)
  }

  function accept(tokens: Tokens): void {
    access.value = tokens.access_token
    refreshToken.value = tokens.refresh_token
    user.value = tokens.user
    save()
  }

  function forget(): void {
    access.value = null
    refreshToken.value = null
    user.value = null
    save()
  }

  async function login(username: string, password: string): Promise<void> {
    const { data } = await request<Tokens>('/api/v1/auth/login', {
      method: 'POST',
      body: { username, password },
      anonymous: true,
    })
    accept(data)
  }

  async function refresh(): Promise<string | null> {
    if (!refreshToken.value) return null
    try {
      const { data } = await request<Tokens>('/api/v1/auth/refresh', {
        method: 'POST',
        body: { refresh_token: refreshToken.value },
        anonymous: true,
      })
      accept(data)
      return data.access_token
    } catch {
      return null
    }
  }

  /** Ends this session at the gateway (or every session of the person, `everywhere`). */
  async function logout(everywhere = false): Promise<void> {
    try {
      if (access.value) await api.post(everywhere ? '/api/v1/auth/logout-all' : '/api/v1/auth/logout')
    } finally {
      forget()
      onSignedOut.forEach((f) => f())
    }
  }

  async function reloadProfile(): Promise<void> {
    user.value = await api.get<User>('/api/v1/auth/me')
    save()
  }

  function whenSignedOut(callback: () => void): void {
    onSignedOut.push(callback)
  }

  useTokenSource({
    accessToken: () => access.value,
    refresh,
    signedOut: () => {
      forget()
      onSignedOut.forEach((f) => f())
    },
  })

  return {
    user,
    roles,
    signedIn,
    login,
    logout,
    refresh,
    reloadProfile,
    whenSignedOut,
    canRead: (area: Area) => canRead(roles.value, area),
    canWrite: (area: Area) => canWrite(roles.value, area),
    hasRole: (...wanted: Role[]) => hasRole(roles.value, ...wanted),
  }
})
