"""The customers service's SQLModel registry: every table module of the service imports its
base from here (and from nothing above it), so the table modules never import each other in a
circle; ``schema.py`` gathers them all for the migrations."""

from sqlalchemy.orm import registry
from sqlmodel import SQLModel


class CustomersModel(SQLModel, registry=registry()):
    """Base of this service's tables: its own metadata, never shared with another service."""
