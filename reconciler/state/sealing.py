"""Encryption at rest for what the state store must read back: the PINs of people and stays,
and the reservation feeds' bodies (a booking's description may carry the guest's phone digits,
which `code: phone_last4` makes a PIN).

AES-GCM (the `cryptography` library) under a key derived from the journal key for one purpose,
so the database alone (a backup, a shared PostgreSQL) reveals none of them. The row's key is
the associated data: a value copied onto another row does not decrypt. A value that does not
decrypt (the journal key was replaced) reads as absent.
"""

from __future__ import annotations

import hashlib
import os

NONCE_BYTES = 12


class Sealer:
    """Seals and opens values for one purpose (e.g. b"accesscodes pin store\\0")."""

    def __init__(self, journal_key: bytes, purpose: bytes) -> None:
        # (loaded with the first state store that holds PINs: a plan without one never needs it)
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        self._aead = AESGCM(hashlib.sha256(purpose + journal_key).digest())

    def seal(self, value: bytes, row: str) -> bytes:
        """`value` encrypted, bound to `row`: a fresh nonce, then the ciphertext."""
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, value, row.encode())

    def open(self, sealed: bytes, row: str) -> bytes | None:
        """The value, or None when it does not decrypt under this key for this row."""
        from cryptography.exceptions import InvalidTag

        try:
            return self._aead.decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], row.encode())
        except (InvalidTag, ValueError):
            return None
