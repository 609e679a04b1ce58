"""PATCH bodies: a field left out stays as it is; a field sent as ``null`` is cleared, and
only where the record may lack it.

PATCH schemas declare every field optional (``X | None = None``) so that a client sends only
what changes, and the routers write ``model_dump(exclude_unset=True)``. That let an explicit
``null`` through for fields the record cannot lack: ``{"active": null}`` reached a NOT NULL
column and answered 500, ``{"name": null}`` on a tag answered 409 "Tag None already exists".
``PatchBody`` refuses ``null`` for every field not marked ``Clearable``, with the usual 422
problem naming ``body.<field>``, and its OpenAPI schema says so (no ``null`` for those fields),
so clients and generated tests see the same rule the server applies.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError


class _Clearable:
    """Marker in ``Annotated[...]``: this field may be sent as ``null`` to clear it."""

    def __repr__(self) -> str:
        return "Clearable"


Clearable = _Clearable()
"""``remarks: Annotated[Text | None, Clearable] = None`` — null clears the remarks."""


def _json_schema(schema: dict[str, Any], model: type[BaseModel]) -> None:
    """Drop ``null`` (and the ``null`` default) from the fields that refuse it."""
    clearable = getattr(model, "clearable_fields", frozenset())
    for name, field in model.model_fields.items():
        key = field.alias or name
        prop = schema.get("properties", {}).get(key)
        if prop is None or name in clearable:
            continue
        if prop.get("default", ...) is None:
            del prop["default"]
        branches = prop.get("anyOf")
        if branches is None:
            continue
        kept = [branch for branch in branches if branch != {"type": "null"}]
        if len(kept) == 1:
            del prop["anyOf"]
            prop.update(kept[0])
        else:
            prop["anyOf"] = kept


class PatchBody(BaseModel):
    """Base of every PATCH body in every service (unknown fields are refused too)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_json_schema)

    clearable_fields: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        cls.clearable_fields = frozenset(
            name
            for name, field in cls.model_fields.items()
            if any(marker is Clearable for marker in field.metadata)
        )

    @field_validator("*", mode="before")
    @classmethod
    def _null_only_where_clearable(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None and info.field_name not in cls.clearable_fields:
            raise PydanticCustomError(
                "null_not_allowed",
                "may not be null; leave the field out to keep its value",
            )
        return value
