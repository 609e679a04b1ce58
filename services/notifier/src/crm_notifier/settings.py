from pydantic import Field

from crm_platform.settings import PlatformSettings, database_url_field


class Settings(PlatformSettings):
    service_name: str = "notifier"
    database_url: str = database_url_field("notifier", "notifier.db")
    # The delivery dispatcher: how often it looks for deliveries due, how many it claims at
    # once, how many it sends side by side, how long a claim lasts before another process may
    # take the delivery over (a crash while sending), and when it gives up.
    dispatcher_enabled: bool = Field(default=True, description="Run the delivery dispatcher")
    dispatch_poll_seconds: float = Field(default=0.2, gt=0)
    dispatch_batch_size: int = Field(default=200, ge=1, le=5000)
    dispatch_concurrency: int = Field(default=50, ge=1, le=500)
    dispatch_lease_seconds: float = Field(default=60.0, gt=0)
    delivery_max_attempts: int = Field(default=8, ge=1, le=50)
    delivery_backoff_seconds: float = Field(default=10.0, gt=0)
    # Who gets what by default: the channels a person receives when they set no preference.
    default_channels: list[str] = Field(default=["inbox", "email"])
    default_locale: str = "zh-CN"
    # The web console people open (the gateway's public address): a notification about a
    # ticket, customer or opportunity links to its page there, in the inbox and in messages.
    console_url: str = "http://127.0.0.1:8000"
    # Email (SMTP): no host, no email channel.
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = True
    smtp_use_tls: bool = False  # implicit TLS (port 465)
    smtp_from: str = "CRM <crm@localhost>"
    smtp_timeout_seconds: float = Field(default=20.0, gt=0)
    # SMS through an HTTP provider (a generic JSON adapter): no URL, no SMS channel.
    sms_url: str | None = None
    sms_auth_header: str | None = None  # e.g. "Authorization: Bearer …"
    sms_body_template: str = '{"to": {{ to | tojson }}, "text": {{ text | tojson }}}'
    # Group bots: a WeCom (企业微信) bot's webhook URL; DingTalk's (钉钉) URL and signing secret.
    wecom_webhook_url: str | None = None
    dingtalk_webhook_url: str | None = None
    dingtalk_secret: str | None = None
    # Apprise URLs (space-separated) for the long tail of services.
    apprise_urls: str | None = None
    http_timeout_seconds: float = Field(default=10.0, gt=0)
    # Partner webhooks: outside development, URLs resolving to loopback or private ranges are
    # refused (no server-side request forgery); after this many consecutive failed deliveries
    # over at least this long, a subscription is disabled and the admins are told.
    webhook_allow_private_addresses: bool = False
    webhook_disable_after_failures: int = Field(default=10, ge=1)
    webhook_disable_after_hours: float = Field(default=24.0, gt=0)
    # Partners on the bus: the RabbitMQ management API that provisions their queues and users.
    rabbitmq_management_url: str = "http://127.0.0.1:15672"
    rabbitmq_management_user: str = "guest"
    rabbitmq_management_password: str = "guest"
    rabbitmq_vhost: str = "/"
    # The AMQP address partners are told to connect to (amqps://bus.example.com:5671); unset,
    # the scheme, host and port of ``amqp_url``.
    partner_amqp_url: str | None = None
