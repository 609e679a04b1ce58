"""App factory of the customers service."""

from fastapi import FastAPI

from crm_customers.api import contacts, customers, meta
from crm_customers.events.published import PUBLISHED_TYPES
from crm_customers.settings import CustomersSettings
from crm_platform.http.app import create_service_app


def create_app(settings: CustomersSettings | None = None) -> FastAPI:
    settings = settings or CustomersSettings()
    return create_service_app(
        settings,
        title="CRM customers",
        routers=[customers.router, contacts.router, meta.router],
        published_types=PUBLISHED_TYPES,
    )
