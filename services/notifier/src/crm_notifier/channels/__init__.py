"""Delivery channels: one module each, registered in ``base`` by name. Importing this package
imports every channel module, so ``build_channels`` knows them all."""

from crm_notifier.channels import base, email, inbox, sms

__all__ = ["base", "email", "inbox", "sms"]
