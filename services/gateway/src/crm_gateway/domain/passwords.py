"""Passwords: the policy a new one must meet, and hashing with argon2id.

Login does the same argon2 work whether or not the account exists: an unknown username is
verified against a dummy hash made with the current parameters, so the answer's timing does
not tell an attacker which usernames exist (the FastAPI full-stack template's
``crud.authenticate`` idea).
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass, field

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 10
MAX_LENGTH = 256  # argon2 takes any length; a bound keeps a request from costing more
# The most common passwords of at least MIN_LENGTH characters (public breach lists), and
# the product's own words; compared case-insensitively.
COMMON_PASSWORDS = frozenset(
    {
        "1234567890",
        "0123456789",
        "12345678910",
        "1q2w3e4r5t",
        "1qaz2wsx3edc",
        "qwertyuiop",
        "qwerty1234",
        "qwerty12345",
        "password12",
        "password123",
        "password1234",
        "passw0rd123",
        "iloveyou12",
        "abcdefghij",
        "abc1234567",
        "a123456789",
        "aa12345678",
        "1111111111",
        "0000000000",
        "5201314520",
        "woaini1314",
        "administrator",
        "admin12345",
        "admin123456",
        "letmein123",
        "welcome123",
        "changeme123",
        "crm1234567",
        "crmpassword",
    }
)


def password_problems(password: str, *, username: str | None = None) -> list[str]:
    """What is wrong with ``password`` as a new password (empty: nothing)."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(f"must be at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        problems.append(f"must be at most {MAX_LENGTH} characters")
    if username and password.casefold() == username.casefold():
        problems.append("must not be the username")
    if password.casefold() in COMMON_PASSWORDS:
        problems.append("is too common")
    return problems


@dataclass
class Passwords:
    """Hash and verify with one set of argon2 parameters; the work runs in a thread, so
    the event loop goes on serving other requests meanwhile."""

    time_cost: int = 3
    memory_kib: int = 65_536
    parallelism: int = 4
    hasher: PasswordHasher = field(init=False)
    dummy_hash: str = field(init=False)

    def __post_init__(self) -> None:
        self.hasher = PasswordHasher(
            time_cost=self.time_cost, memory_cost=self.memory_kib, parallelism=self.parallelism
        )
        # Verified against when the user does not exist: the same parameters, the same work.
        self.dummy_hash = self.hasher.hash(secrets.token_urlsafe(16))

    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(self.hasher.hash, password)

    def _verify(self, stored_hash: str, password: str) -> bool:
        try:
            return self.hasher.verify(stored_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    async def verify(self, stored_hash: str | None, password: str) -> bool:
        """``stored_hash`` None (no such user): the dummy hash is verified, and False."""
        if stored_hash is None:
            await asyncio.to_thread(self._verify, self.dummy_hash, password)
            return False
        return await asyncio.to_thread(self._verify, stored_hash, password)

    def needs_rehash(self, stored_hash: str) -> bool:
        try:
            return self.hasher.check_needs_rehash(stored_hash)
        except InvalidHashError:
            return True
