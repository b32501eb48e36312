"""Embedded / demo mode: `make run`. SQLite, console email, no external server."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DEBUG", default=True)
DEMO_MODE = env.bool("DEMO_MODE", default=True)
# Demo only: a fixed key so that `make run` can seal the audit chain. Production requires its own.
AUDIT_HMAC_KEY = env("AUDIT_HMAC_KEY", default="demo-audit-key-not-secret")
