"""API gateway: one entry point, identity, forwarding to the services (SPEC §5)."""
