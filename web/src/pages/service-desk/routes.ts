// Why: the service desk's pages: the ticket queue and a ticket, a new ticket with knowledge-base
// suggestions, the knowledge base, and the supervisors' team setup.
import { Reading, Tickets } from '@element-plus/icons-vue'
import type { AreaRoutes } from '@/router/area'
import { canRead, isSupervisor } from '@/roles'
import { canOpenTickets } from './ticketActions'

const area: AreaRoutes = {
  routes: [
    {
      path: 'tickets',
      name: 'tickets',
      component: () => import('./TicketQueue.vue'),
      meta: { area: 'tickets', title: 'nav.tickets' },
    },
    {
      path: 'tickets/new',
      name: 'ticket-new',
      component: () => import('./TicketNew.vue'),
      meta: { area: 'tickets', allowed: canOpenTickets, title: 'serviceDesk.newTicket' },
    },
    {
      path: 'tickets/:id',
      name: 'ticket',
      component: () => import('./TicketPage.vue'),
      meta: { area: 'tickets', title: 'nav.tickets' },
    },
    {
      path: 'service-desk/teams',
      name: 'service-teams',
      component: () => import('./TeamSetup.vue'),
      meta: { allowed: (roles) => isSupervisor(roles) && canRead(roles, 'service-desk'), title: 'serviceDesk.teamSetup' },
    },
    { path: 'kb', name: 'kb', component: () => import('./KbList.vue'), meta: { area: 'kb', title: 'nav.kb' } },
    { path: 'kb/:id', name: 'kb-article', component: () => import('./KbArticle.vue'), meta: { area: 'kb', title: 'nav.kb' } },
  ],
  menu: [
    { path: '/tickets', label: 'nav.tickets', icon: Tickets, order: 50, area: 'tickets' },
    { path: '/kb', label: 'nav.kb', icon: Reading, order: 60, area: 'kb' },
  ],
}

export default area
