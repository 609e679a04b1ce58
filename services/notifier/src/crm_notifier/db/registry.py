"""This service's SQLModel registry: its table modules import their base from here, so they
never import each other in a circle; ``schema.py`` gathers them for the migrations."""

from sqlalchemy.orm import registry
from sqlmodel import SQLModel


class NotifierModel(SQLModel, registry=registry()):
    """Base of this service's tables: its own metadata, never shared with another service."""
