"""Request and response bodies of the gateway's own API (people, API keys, audit)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints

from crm_gateway.db.models import ApiKey, AuditEntry, User
from crm_gateway.domain.authentication import IssuedTokens
from crm_gateway.domain.commands import CreateApiKey, CreateUser
from crm_gateway.domain.roles import ROLES
from crm_gateway.domain.routes import SCOPES
from crm_platform.http.moments import UtcMoment
from crm_platform.http.patch import Clearable, PatchBody

Role = Literal[ROLES]  # type: ignore[valid-type]
Scope = Literal[tuple(sorted(SCOPES))]  # type: ignore[valid-type]
Username = Annotated[
    str,
    StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9][A-Za-z0-9._@-]{2,63}$"),
]
Password = Annotated[str, StringConstraints(min_length=1, max_length=256)]
DisplayName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Mobile = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^\+?[0-9][0-9 -]{4,19}$")
]
Team = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Id = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=36)]
Roles = Annotated[list[Role], Field(min_length=1, max_length=len(ROLES))]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --------------------------------------------------------------------------- auth


class LoginBody(Strict):
    username: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    password: Password


class RefreshBody(Strict):
    refresh_token: Annotated[str, StringConstraints(min_length=1, max_length=200)]


class LogoutBody(Strict):
    refresh_token: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None


class PasswordChangeBody(Strict):
    current_password: Password
    new_password: Password


class UserOut(BaseModel):
    id: str
    username: str
    display_name: str
    email: str | None
    mobile: str | None
    roles: list[str]
    team: str | None
    manager_id: str | None
    active: bool
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls(
            id=user.id,
            username=user.username,
            display_name=user.display_name,
            email=user.email,
            mobile=user.mobile,
            roles=list(user.roles),
            team=user.team,
            manager_id=user.manager_id,
            active=user.active,
            version=user.version,
            created_at=user.created_at,
            updated_at=user.updated_at,
        )


class TokensOut(BaseModel):
    token_type: Literal["bearer"] = "bearer"
    access_token: str
    expires_in: int = Field(description="Seconds the access token is valid")
    refresh_token: str = Field(
        description="Spend once at /api/v1/auth/refresh; a new one comes back"
    )
    refresh_expires_at: datetime = Field(description="The end of this sign-in session")
    session_id: str
    user: UserOut

    @classmethod
    def of(cls, issued: IssuedTokens) -> TokensOut:
        return cls(
            access_token=issued.access_token,
            expires_in=issued.access_expires_in,
            refresh_token=issued.refresh_token,
            refresh_expires_at=issued.refresh_expires_at,
            session_id=issued.session_id,
            user=UserOut.of(issued.user),
        )


class MeOut(UserOut):
    via: Literal["user", "api_key"]
    session_id: str | None = None
    api_key_id: str | None = None
    scopes: list[str] | None = None


# --------------------------------------------------------------------------- users


class UserCreate(Strict):
    username: Username
    password: Password
    display_name: DisplayName
    roles: Roles
    email: EmailStr | None = None
    mobile: Mobile | None = None
    team: Team | None = None
    manager_id: Id | None = None
    active: bool = True

    def command(self) -> CreateUser:
        return CreateUser(
            username=self.username,
            password=self.password,
            display_name=self.display_name,
            roles=tuple(self.roles),
            email=self.email,
            mobile=self.mobile,
            team=self.team,
            manager_id=self.manager_id,
            active=self.active,
        )


class UserPatch(PatchBody):
    """Only what changes; ``null`` clears email, mobile, team or manager."""

    display_name: DisplayName | None = None
    email: Annotated[EmailStr | None, Clearable] = None
    mobile: Annotated[Mobile | None, Clearable] = None
    team: Annotated[Team | None, Clearable] = None
    manager_id: Annotated[Id | None, Clearable] = None
    roles: Roles | None = None
    version: Annotated[int, Field(ge=1, le=2_147_483_647)] | None = None

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True, exclude={"version"})


class VersionBody(Strict):
    version: Annotated[int, Field(ge=1, le=2_147_483_647)] | None = None


class RolesBody(VersionBody):
    roles: Roles


class PasswordResetBody(Strict):
    new_password: Password


class UserPage(BaseModel):
    items: list[UserOut]
    next_cursor: str | None


class PersonOut(BaseModel):
    """A colleague as the directory shows one: no contact details."""

    id: str
    username: str
    display_name: str
    roles: list[str]
    team: str | None
    active: bool


class PersonPage(BaseModel):
    items: list[PersonOut]
    next_cursor: str | None

    @classmethod
    def of(cls, found: Sequence[User], next_cursor: str | None) -> PersonPage:
        return cls(
            items=[
                PersonOut(
                    id=u.id,
                    username=u.username,
                    display_name=u.display_name,
                    roles=list(u.roles),
                    team=u.team,
                    active=u.active,
                )
                for u in found
            ],
            next_cursor=next_cursor,
        )


# --------------------------------------------------------------------------- API keys


class ApiKeyCreate(Strict):
    owner_id: Id = Field(description="The user (an integration account) the key acts as")
    name: DisplayName = Field(description="What the key is for, e.g. the partner's name")
    scopes: Annotated[list[Scope], Field(min_length=1, max_length=len(SCOPES))]
    expires_at: UtcMoment | None = None

    def command(self) -> CreateApiKey:
        return CreateApiKey(
            owner_id=self.owner_id,
            name=self.name,
            scopes=tuple(self.scopes),
            expires_at=self.expires_at,
        )


class ApiKeyOut(BaseModel):
    id: str
    prefix: str
    name: str
    owner_id: str
    scopes: list[str]
    created_by: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, key: ApiKey) -> ApiKeyOut:
        return cls(
            id=key.id,
            prefix=key.prefix,
            name=key.name,
            owner_id=key.owner_id,
            scopes=list(key.scopes),
            created_by=key.created_by,
            created_at=key.created_at,
            expires_at=key.expires_at,
            revoked_at=key.revoked_at,
        )


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="The whole key: shown this once, never again")


class ApiKeyPage(BaseModel):
    items: list[ApiKeyOut]
    next_cursor: str | None


# --------------------------------------------------------------------------- audit


class AuditOut(BaseModel):
    id: int
    at: datetime
    actor_id: str | None
    api_key_id: str | None
    action: str
    target: str | None
    ip: str | None
    details: dict[str, Any]

    @classmethod
    def of(cls, entry: AuditEntry) -> AuditOut:
        return cls(
            id=entry.id or 0,
            at=entry.at,
            actor_id=entry.actor_id,
            api_key_id=entry.api_key_id,
            action=entry.action,
            target=entry.target,
            ip=entry.ip,
            details=dict(entry.details or {}),
        )


class AuditPage(BaseModel):
    items: list[AuditOut]
    next_cursor: str | None
