"""Delivery channels: one module each, registered in ``base`` by name. Importing this package
imports every channel module, so ``build_channels`` knows them all."""

from crm_notifier.channels import apprise, base, dingtalk, email, inbox, sms, wecom

__all__ = ["apprise", "base", "dingtalk", "email", "inbox", "sms", "wecom"]
