"""Mechanism shared by every CRM service: settings, database, events, HTTP, identity.

Nothing here knows about customers, tickets or any other domain concept.
"""
