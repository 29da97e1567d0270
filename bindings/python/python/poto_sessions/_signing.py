"""The signer of session-id cookies for the Flask and ASGI adapters: ``itsdangerous.Signer`` with
HMAC-SHA256 over an HMAC-derived key (``key_derivation="hmac"``), each key derived once rather
than on every request. Verify one elsewhere with
``itsdangerous.Signer(keys, salt=..., key_derivation="hmac", digest_method=hashlib.sha256)``."""

from __future__ import annotations

import hashlib
from typing import Dict, List, Optional, Union

from itsdangerous import Signer
from itsdangerous.encoding import want_bytes

Key = Union[str, bytes]


class IdSigner(Signer):
    """``keys``: oldest to newest; the newest signs, every one verifies."""

    def __init__(self, keys: List[Key], salt: str) -> None:
        super().__init__([want_bytes(k) for k in keys], salt=salt, key_derivation="hmac", digest_method=hashlib.sha256)
        self._derived: Dict[bytes, bytes] = {}

    def derive_key(self, secret_key: Optional[Key] = None) -> bytes:
        key = self.secret_keys[-1] if secret_key is None else want_bytes(secret_key)
        derived = self._derived.get(key)
        if derived is None:
            derived = self._derived[key] = super().derive_key(key)
        return derived
