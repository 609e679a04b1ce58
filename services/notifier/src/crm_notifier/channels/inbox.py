"""The in-app inbox: the notification row is the inbox entry, so sending is done already.
Registered so the dispatcher treats every channel alike (address: the user's id)."""

from __future__ import annotations

from crm_notifier.channels.base import ChannelEnv, Delivered, OutboundMessage, SendResult, register


class InboxChannel:
    name = "inbox"

    async def send(self, message: OutboundMessage) -> SendResult:
        return Delivered("in inbox")


@register("inbox")
def build(env: ChannelEnv) -> InboxChannel:
    return InboxChannel()
