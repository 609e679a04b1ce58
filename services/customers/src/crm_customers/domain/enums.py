"""Enumerations of the customer record, with the API codes of SPEC §1."""

from enum import StrEnum


class CustomerKind(StrEnum):
    ENTERPRISE = "enterprise"
    INDIVIDUAL = "individual"


class Lifecycle(StrEnum):
    PROSPECT = "prospect"
    INTENT = "intent"
    WON = "won"
    LOST = "lost"
