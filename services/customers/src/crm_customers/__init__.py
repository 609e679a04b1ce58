"""Customers service: the customer and contact record (SPEC §1)."""
