from crm_platform.settings import PlatformSettings, database_url_field


class Settings(PlatformSettings):
    service_name: str = "engagement"
    database_url: str = database_url_field("engagement", "engagement.db")
