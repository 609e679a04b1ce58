"""The in-app inbox: the notification row is the inbox entry, so delivering is nothing more."""

from crm_notifier.channels.base import ChannelEnv, Delivered, OutboundMessage, SendResult, register


class InboxChannel:
    name = "inbox"

    async def send(self, message: OutboundMessage) -> SendResult:
        return Delivered("in inbox")


@register("inbox")
def inbox_channel(env: ChannelEnv) -> InboxChannel:
    return InboxChannel()
