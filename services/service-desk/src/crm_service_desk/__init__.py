"""Service-desk service: tickets, SLAs, surveys, knowledge base (SPEC §3)."""
