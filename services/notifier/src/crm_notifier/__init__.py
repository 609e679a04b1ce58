"""Notifier service: reminders, alerts, surveys, partner webhooks (SPEC §4)."""
