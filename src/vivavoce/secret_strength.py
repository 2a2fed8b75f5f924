"""How strong a secret is: refuse the trivially weak, warn about the merely weak.

The admin token opens everything and the secret key signs every candidate link, so a
value someone typed (``aaaaaaaaaaaaaaaa``, ``password1234567890``) must not pass just by
being long. Two levels:

- :func:`weakness`: trivially weak — one repeated character, or fewer than
  :data:`MIN_DISTINCT` distinct characters. Production refuses to start on it.
- :func:`estimated_bits`: a rough strength estimate (length × bits per character of the
  character classes used, capped by what the distinct characters can carry). Below
  :data:`STRONG_BITS` the banner, the doctor and the setup page warn — a warning, not a
  refusal, so an upgrade does not take a running service down.

zxcvbn-style dictionary checks would be finer, but every value we recommend is random
(``vivavoce secret``), and the point is to catch typed-in values, which these rules do.
"""

from __future__ import annotations

import math
import secrets
import string
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from vivavoce.config import Settings

__all__ = [
    "MIN_DISTINCT",
    "STRONG_BITS",
    "estimated_bits",
    "generate",
    "secret_warnings",
    "weak_warning",
    "weakness",
]

MIN_DISTINCT = 10
STRONG_BITS = 128
GENERATE_COMMAND = "vivavoce secret"


def generate() -> str:
    """A fresh secret: 32 random bytes, URL-safe (43 characters, 256 bits)."""
    return secrets.token_urlsafe(32)


def weakness(value: str) -> str | None:
    """Why ``value`` is trivially weak, or None."""
    distinct = len(set(value))
    if value and distinct == 1:
        return "it is one character repeated"
    if distinct < MIN_DISTINCT:
        return f"it has only {distinct} different characters (at least {MIN_DISTINCT} needed)"
    return None


def estimated_bits(value: str) -> float:
    """A rough estimate of the bits of strength of ``value``."""
    if not value:
        return 0.0
    pool = 0
    if any(c in string.ascii_lowercase for c in value):
        pool += 26
    if any(c in string.ascii_uppercase for c in value):
        pool += 26
    if any(c in string.digits for c in value):
        pool += 10
    if any(not c.isascii() or not c.isalnum() for c in value):
        pool += 33
    per_char = math.log2(max(pool, 2))
    # Repeats carry less than fresh characters: count each distinct character at full
    # weight, every repeat at a quarter.
    distinct = len(set(value))
    return per_char * (distinct + (len(value) - distinct) / 4)


def weak_warning(name: str, value: str | None) -> str | None:
    """A one-line warning when ``value`` is set but below :data:`STRONG_BITS`."""
    value = (value or "").strip()
    if not value:
        return None
    bits = estimated_bits(value)
    if bits >= STRONG_BITS:
        return None
    return (
        f"{name} looks weak (about {bits:.0f} bits, {STRONG_BITS} recommended): "
        f"replace it with the output of `{GENERATE_COMMAND}`"
    )


def secret_warnings(settings: Settings) -> list[str]:
    """A warning for each secret that is set but weak (banner, doctor, setup page)."""
    found: list[str] = []
    for name, value in (
        ("VIVAVOCE_ADMIN_TOKEN", settings.admin_token),
        ("VIVAVOCE_SECRET_KEY", settings.secret_key),
    ):
        warning = weak_warning(name, value.get_secret_value() if value else None)
        if warning:
            found.append(warning)
    return found
