from pydantic import Field

from crm_platform.settings import PlatformSettings, database_url_field


class CustomersSettings(PlatformSettings):
    service_name: str = "customers"
    database_url: str = database_url_field("customers", "customers.db")
    customer_code_prefix: str = Field(default="CRM", pattern=r"^[A-Z]{1,8}$")
