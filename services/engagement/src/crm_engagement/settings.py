from pydantic import Field

from crm_platform.settings import PlatformSettings, database_url_field


class Settings(PlatformSettings):
    service_name: str = "engagement"
    database_url: str = database_url_field("engagement", "engagement.db")
    # Defaults of the rules an admin may change through GET/PATCH /v1/engagement/settings
    # (the engagement_settings row wins once it exists). The time zone is the platform's
    # CRM_TIMEZONE.
    reminder_hour: int = Field(default=9, ge=0, le=23, description="Local hour reminders fire")
    followup_summary_min_length: int = Field(default=10, ge=1, le=500)
    cadence_days_a: int = Field(default=7, ge=1, le=366)
    cadence_days_b: int = Field(default=14, ge=1, le=366)
    cadence_days_c: int = Field(default=30, ge=1, le=366)
    first_follow_up_hours: int = Field(default=24, ge=1, le=720)
    plan_horizon_months: int = Field(default=12, ge=1, le=36)
    # The scheduler: how often it looks for due reminders and how often it scans cadence and
    # tops up maintenance plans; a reminder fired more than this late is marked late.
    reminder_poll_seconds: float = Field(default=30.0, gt=0)
    reminder_scan_seconds: float = Field(default=3600.0, gt=0)
    reminder_late_after_minutes: int = Field(default=15, ge=1)
    reminder_batch_size: int = Field(default=1000, ge=1, le=5000)
    # Batches fired side by side (each on a pool connection) when many are due at once.
    reminder_fire_workers: int = Field(default=2, ge=1, le=8)
    scheduler_enabled: bool = Field(default=True, description="Run the reminder scheduler")
    followup_export_max_rows: int = Field(default=50_000, ge=1, le=1_048_575)
