// Why: the reasons the service writes on an assignment it made or recorded (domain/assignment.py,
// domain/tickets.py) are English sentences; the console shows them in the reader's language.
// A person's own note (anything else) is shown as typed.
export const ASSIGN_REASONS: Record<string, string> = {
  'assigned by a supervisor': 'supervisor',
  'taken by the agent': 'taken',
  "high priority: assigned to the team's supervisor": 'highPriority',
  'round robin among the agents handling this type': 'roundRobin',
  'least busy of the agents handling this type': 'leastBusy',
}
