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
