from crm_platform.settings import PlatformSettings, database_url_field


class Settings(PlatformSettings):
    service_name: str = "service-desk"
    database_url: str = database_url_field("service-desk", "service-desk.db")
