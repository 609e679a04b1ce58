"""The gateway's SQLModel registry: every table module of the gateway imports its base from
here (and from nothing above it); ``schema.py`` gathers them all for the migrations."""

from sqlalchemy.orm import registry
from sqlmodel import SQLModel


class GatewayModel(SQLModel, registry=registry()):
    """Base of this service's tables: its own metadata, never shared with another service."""
