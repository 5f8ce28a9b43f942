"""Secrets at rest: encrypting secret settings with Fernet.

A secret setting (a ``PasswordField``, or a field in the form's
``secret_fields``) is stored in ``settings`` as ``{"$fernet": "<token>"}``.
:meth:`IntegrationConfigMixin.get` returns the clear value; the database,
pages, logs and exports never show it.

The key is ``INTEGRATIONS_ENCRYPTION_KEY`` (a Fernet key), else one derived
from ``SECRET_KEY`` with HKDF. Keys in ``INTEGRATIONS_ENCRYPTION_OLD_KEYS``
still decrypt; :func:`rotate` re-encrypts with the current key.
"""

from __future__ import annotations

import base64
import binascii
import json
import typing as t

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import Flask

from .errors import EncryptionKeyError, SecretDecryptionError

#: The key of the one-item object that marks an encrypted value.
MARKER = "$fernet"

_HKDF_SALT = b"flask-integrations"
_HKDF_INFO = b"flask-integrations settings encryption v1"


def is_encrypted(value: t.Any) -> bool:
    """Whether ``value`` is an encrypted secret as stored in settings."""
    return (
        isinstance(value, dict)
        and len(value) == 1
        and isinstance(value.get(MARKER), str)
    )


def derive_key(secret: str | bytes) -> bytes:
    """Derive a Fernet key from an arbitrary secret (e.g. ``SECRET_KEY``)."""
    material = secret.encode("utf-8") if isinstance(secret, str) else secret
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=_HKDF_SALT, info=_HKDF_INFO
    ).derive(material)
    return base64.urlsafe_b64encode(derived)


def _as_fernet(key: str | bytes) -> Fernet:
    """A Fernet for ``key``: a Fernet key as is, anything else derived."""
    raw = key.encode("ascii", "ignore") if isinstance(key, str) else key
    try:
        if len(base64.urlsafe_b64decode(raw)) == 32:
            return Fernet(raw)
    except (binascii.Error, ValueError):
        pass
    return Fernet(derive_key(key))


_ciphers: dict[tuple[t.Any, ...], MultiFernet] = {}


def cipher_for(app: Flask) -> MultiFernet:
    """Return the cipher for ``app``'s configured keys (cached per keys).

    :raises EncryptionKeyError: Neither ``INTEGRATIONS_ENCRYPTION_KEY`` nor
        ``SECRET_KEY`` is set.
    """
    primary = app.config.get("INTEGRATIONS_ENCRYPTION_KEY") or app.config.get(
        "SECRET_KEY"
    )
    if not primary:
        raise EncryptionKeyError(
            "Secret settings cannot be encrypted: set 'INTEGRATIONS_ENCRYPTION_KEY'"
            " (or at least 'SECRET_KEY') in the app's config."
        )
    old = tuple(app.config.get("INTEGRATIONS_ENCRYPTION_OLD_KEYS") or ())
    cache_key = (primary, old)
    cipher = _ciphers.get(cache_key)
    if cipher is None:
        cipher = MultiFernet([_as_fernet(primary), *(_as_fernet(k) for k in old)])
        _ciphers[cache_key] = cipher
    return cipher


def encrypt(app: Flask, value: t.Any) -> dict[str, str]:
    """Encrypt a JSON value into its stored form."""
    token = cipher_for(app).encrypt(json.dumps(value).encode("utf-8"))
    return {MARKER: token.decode("ascii")}


def decrypt(app: Flask, stored: t.Mapping[str, str], name: str = "secret") -> t.Any:
    """Decrypt a stored secret.

    :param name: The setting's name, for the error message.
    :raises SecretDecryptionError: No configured key decrypts it.
    """
    try:
        clear = cipher_for(app).decrypt(stored[MARKER].encode("ascii"))
    except (InvalidToken, UnicodeEncodeError) as exc:
        raise SecretDecryptionError(
            f"The stored secret '{name}' cannot be decrypted with the configured"
            " keys. Add the key it was encrypted with to"
            " 'INTEGRATIONS_ENCRYPTION_OLD_KEYS', or enter the secret again."
        ) from exc
    return json.loads(clear)


def app_for_model(model: type[t.Any]) -> Flask:
    """The app whose keys protect configurations of ``model``: the current
    app, else the app of the only manager handling ``model``."""
    from flask import current_app, has_app_context

    if has_app_context():
        return t.cast(Flask, current_app._get_current_object())  # type: ignore[attr-defined]
    from .manager import get_manager_for_model

    app = get_manager_for_model(model).app
    if app is None:
        raise EncryptionKeyError(
            "Secret settings need an app for their key: use them inside an app context."
        )
    return app


def reveal(
    model: type[t.Any], name: str, value: t.Any, app: Flask | None = None
) -> t.Any:
    """Return a stored setting in clear, decrypting it if it is a secret.

    :param app: The app whose keys to use; by default the current app or
        the only one handling ``model``.
    """
    if is_encrypted(value):
        return decrypt(app or app_for_model(model), value, name)
    return value


def rotate(app: Flask, stored: t.Mapping[str, str]) -> dict[str, str]:
    """Re-encrypt a stored secret with the current key."""
    try:
        token = cipher_for(app).rotate(stored[MARKER].encode("ascii"))
    except InvalidToken as exc:
        raise SecretDecryptionError(
            "A stored secret cannot be decrypted with the configured keys, so it"
            " cannot be re-encrypted."
        ) from exc
    return {MARKER: token.decode("ascii")}
