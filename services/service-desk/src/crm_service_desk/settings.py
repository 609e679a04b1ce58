from pydantic import Field

from crm_platform.settings import PlatformSettings, database_url_field


class Settings(PlatformSettings):
    service_name: str = "service-desk"
    database_url: str = database_url_field("service-desk", "service-desk.db")
    # Ticket codes: prefix + year (CRM_TIMEZONE) + serial of at least three digits (FW2026001).
    ticket_code_prefix: str = Field(default="FW", min_length=1, max_length=8)
    # The SLA checker: how often it looks for clocks past their warning or due moment, how
    # many it claims per transaction, and the share of a target after which it warns.
    sla_checker_enabled: bool = Field(default=True, description="Run the SLA checker")
    sla_poll_seconds: float = Field(default=15.0, gt=0)
    sla_batch_size: int = Field(default=1000, ge=1, le=10_000)
    sla_warning_ratio: float = Field(default=0.8, gt=0, lt=1)
    # Satisfaction surveys: how long the link works, and the page it opens (the web console's
    # public survey page; the token is appended).
    survey_valid_days: int = Field(default=14, ge=1, le=365)
    survey_base_url: str = "http://127.0.0.1:8000/survey/"
    # Callbacks after repair and visit tickets: days after resolution (seed 003: 3 to 5).
    callback_after_days: int = Field(default=3, ge=1, le=30)
