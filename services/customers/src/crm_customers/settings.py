from pydantic import Field

from crm_platform.settings import PlatformSettings, database_url_field


class CustomersSettings(PlatformSettings):
    service_name: str = "customers"
    database_url: str = database_url_field("customers", "customers.db")
    customer_code_prefix: str = Field(default="CRM", pattern=r"^[A-Z]{1,8}$")
    customer_review_new: bool = Field(
        default=False, description="New customers wait for a manager's review"
    )
    unmask_roles: set[str] = Field(
        default={"admin"}, description="Roles that read sensitive fields unmasked (audited)"
    )
    duplicate_name_similarity: float = Field(default=0.6, gt=0, le=1)
    search_exact_total_limit: int = Field(
        default=1000,
        ge=0,
        description="Customer lists count matches exactly up to this many; above it the total "
        "is the database's estimate (PostgreSQL; SQLite always counts)",
    )
    import_max_rows: int = Field(default=20_000, ge=1, description="Data rows per import file")
    import_max_bytes: int = Field(
        default=20 * 1_048_576,
        ge=1024,
        description="Body limit of the import upload only (other routes keep max_body_bytes)",
    )
    import_batch_size: int = Field(
        default=500, ge=1, le=5_000, description="Rows committed per transaction on import"
    )
    export_xlsx_max_rows: int = Field(
        default=200_000, ge=1, le=1_048_575, description="Larger lists export as CSV only"
    )

    def database_session_settings(self) -> dict[str, str]:
        # The similar-name check of every create uses the % operator, whose threshold is
        # this setting: set once per connection instead of once per create.
        return {"pg_trgm.similarity_threshold": str(self.duplicate_name_similarity)}
