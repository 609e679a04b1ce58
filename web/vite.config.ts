/// <reference types="vitest/config" />
// Why: one build for the console. `npm run dev` proxies /api to a gateway
// (CRM_GATEWAY_URL, default the `make run` one) so the app only ever talks to the gateway.
import { fileURLToPath, URL } from 'node:url'
import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'

const gateway = process.env.CRM_GATEWAY_URL ?? 'http://127.0.0.1:8000'

export default defineConfig({
  plugins: [vue()],
  resolve: { alias: { '@': fileURLToPath(new URL('./src', import.meta.url)) } },
  server: { proxy: { '/api': gateway } },
  build: {
    chunkSizeWarningLimit: 1500,
    rollupOptions: {
      output: {
        manualChunks: {
          vendor: ['vue', 'vue-router', 'pinia', 'vue-i18n'],
          'element-plus': ['element-plus'],
          echarts: ['echarts', 'vue-echarts'],
        },
      },
    },
  },
  test: {
    environment: 'node', // the tests cover the app's plain TypeScript logic: no DOM needed
    include: ['tests/**/*.test.ts'],
  },
})
