"""Engagement service: follow-ups, action items, cadence, opportunities (SPEC §2)."""
