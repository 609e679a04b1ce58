"""App factory of the customers service."""

from fastapi import FastAPI

from crm_customers.api import (
    approvals,
    contacts,
    customers,
    grading,
    imports,
    meta,
    ownership,
    quarterly_review,
)
from crm_customers.events.handlers import build_handlers
from crm_customers.events.published import PUBLISHED_TYPES
from crm_customers.settings import CustomersSettings
from crm_platform.http.app import create_service_app


def create_app(settings: CustomersSettings | None = None) -> FastAPI:
    settings = settings or CustomersSettings()
    return create_service_app(
        settings,
        title="CRM customers",
        routers=[
            quarterly_review.router,  # before customers.router: /review-due is no id
            imports.router,  # before customers.router: /imports, /export are not {customer_id}
            customers.router,
            contacts.router,
            meta.router,
            grading.router,
            approvals.router,
            approvals.review_router,
            ownership.router,
        ],
        published_types=PUBLISHED_TYPES,
        handlers=build_handlers(settings),
        body_limits={"/v1/customers/imports": settings.import_max_bytes},
    )
