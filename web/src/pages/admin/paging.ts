// Why: the gateway's lists (users, API keys, audit) page by cursor and give no total; the
// page keeps the cursors it went through so it can go back, and counts what it has shown.
export interface CursorState {
  /** The cursor of each page seen; [0] is null (the first page). */
  stack: Array<string | null>
  /** The cursor the server gave for the page after the current one. */
  next: string | null
}

export function firstPage(): CursorState {
  return { stack: [null], next: null }
}

export function current(state: CursorState): string | null {
  return state.stack[state.stack.length - 1]
}

export function pageNumber(state: CursorState): number {
  return state.stack.length
}

export function forward(state: CursorState): CursorState {
  return state.next ? { stack: [...state.stack, state.next], next: null } : state
}

export function back(state: CursorState): CursorState {
  return state.stack.length > 1 ? { stack: state.stack.slice(0, -1), next: null } : state
}

export function received(state: CursorState, next: string | null): CursorState {
  return { ...state, next }
}

/** "Rows 51–73" of the list so far (the cursor lists have no total). */
export function rowRange(state: CursorState, pageSize: number, count: number): { from: number; to: number } {
  const from = (pageNumber(state) - 1) * pageSize + (count ? 1 : 0)
  return { from, to: (pageNumber(state) - 1) * pageSize + count }
}
