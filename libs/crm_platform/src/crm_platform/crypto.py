"""Field encryption at rest (AES-256-GCM) and blind indexes for looking encrypted values up.

The key comes from ``CRM_DATA_KEY`` (base64 of 32 bytes). Ciphertexts carry a version prefix
so the key can be rotated later without guessing which key wrote a value.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_PREFIX = "v1:"
_NONCE_BYTES = 12


class DecryptionFailed(Exception):
    """The value was not written with this key, or was tampered with."""


def decode_key(data_key: str) -> bytes:
    try:
        key = base64.b64decode(data_key, validate=True)
    except binascii.Error as exc:
        raise ValueError("CRM_DATA_KEY must be base64") from exc
    if len(key) != 32:
        raise ValueError("CRM_DATA_KEY must decode to 32 bytes")
    return key


def derive_key(data_key: str, purpose: str) -> bytes:
    """A key of its own for ``purpose`` (signing survey links, say), derived from
    ``CRM_DATA_KEY``: one secret to manage and rotate, and a leak of one derived key
    reveals neither the data key nor another purpose's key."""
    return hmac.new(
        decode_key(data_key), f"crm derived key:{purpose}".encode(), hashlib.sha256
    ).digest()


class FieldCipher:
    def __init__(self, data_key: str) -> None:
        key = decode_key(data_key)
        self._aead = AESGCM(key)
        self._index_key = hmac.new(key, b"crm blind index", hashlib.sha256).digest()

    def encrypt(self, plaintext: str, *, context: str) -> str:
        """``context`` (e.g. ``customer.id_number``) is bound in: a value moved elsewhere fails."""
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), context.encode())
        return _PREFIX + base64.b64encode(nonce + sealed).decode()

    def decrypt(self, ciphertext: str, *, context: str) -> str:
        if not ciphertext.startswith(_PREFIX):
            raise DecryptionFailed("unknown ciphertext version")
        raw = base64.b64decode(ciphertext[len(_PREFIX) :])
        try:
            return self._aead.decrypt(
                raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], context.encode()
            ).decode()
        except InvalidTag as exc:
            raise DecryptionFailed("ciphertext does not match key or context") from exc

    def blind_index(self, value: str, *, context: str) -> str:
        """A keyed hash: equal values match, the value cannot be recovered or guessed offline."""
        return hmac.new(self._index_key, f"{context}:{value}".encode(), hashlib.sha256).hexdigest()
