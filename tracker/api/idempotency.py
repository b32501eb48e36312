"""Idempotency-Key on POST: a retried request gets the first response and records once.

The first request with a key claims an IdempotencyRecord (unique per user and key), runs, and
stores its response. A retry with the same key and the same request replays that response; the
same key with a different request is refused (422). The services also get a submission_key
derived from (user, key), so even a retry racing the first request records once.
"""

import functools
import hashlib
import json
import uuid
from datetime import timedelta

from django.db import IntegrityError, transaction
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from .. import clock
from ..models import IdempotencyRecord
from .errors import error_body

HEADER = "Idempotency-Key"
NAMESPACE = uuid.UUID("5d3c8a4e-2f7b-4f5e-9a55-2b1b0f6a7c11")
STALE_AFTER = timedelta(minutes=2)  # a claimed key whose request died may be run again


def submission_key(user, key):
    return uuid.uuid5(NAMESPACE, f"{user.pk}:{key}") if key else None


def _fingerprint(request):
    body = json.dumps(request.data, sort_keys=True, default=str)
    raw = f"{request.method} {request.path}\n{body}".encode()
    return hashlib.sha256(raw).hexdigest()


def _error(code, status_code, detail):
    return Response(error_body(status_code, code, detail, {HEADER: [detail]}), status=status_code)


def idempotent(view_method):
    """Wrap a POST handler `(self, request, *args, **kwargs)`; it reads request.submission_key."""

    @functools.wraps(view_method)
    def wrapper(self, request, *args, **kwargs):
        key = (request.headers.get(HEADER) or "").strip()
        request.submission_key = None
        if not key:
            return view_method(self, request, *args, **kwargs)
        if len(key) > 255:
            return _error("invalid", 400, f"{HEADER} must be at most 255 characters.")
        fingerprint = _fingerprint(request)
        record = _claim(request.user, key, request, fingerprint)
        if record.request_hash != fingerprint:
            return _error(
                "idempotency_key_reused", 422, f"This {HEADER} was used for a different request."
            )
        if record.status_code is not None:
            return Response(
                record.response_body,
                status=record.status_code,
                headers={"Idempotent-Replayed": "true"},
            )
        if not getattr(record, "_claimed_now", False):
            return _error("conflict", 409, f"A request with this {HEADER} is in progress.")
        request.submission_key = submission_key(request.user, key)
        try:
            response = view_method(self, request, *args, **kwargs)
        except Exception as exc:
            response = self.handle_exception(exc)
        if response.status_code >= 500:
            record.delete()  # a cache row, not a record: let the client retry
            return response
        record.status_code = response.status_code
        record.response_body = json.loads(JSONRenderer().render(response.data) or b"null")
        record.save(update_fields=["status_code", "response_body"])
        return response

    return wrapper


def _claim(user, key, request, fingerprint):
    try:
        with transaction.atomic():
            record = IdempotencyRecord.objects.create(
                user=user,
                key=key,
                method=request.method,
                path=request.path[:255],
                request_hash=fingerprint,
            )
            record._claimed_now = True
            return record
    except IntegrityError:
        pass
    with transaction.atomic():
        record = IdempotencyRecord.objects.select_for_update().get(user=user, key=key)
        if record.status_code is None and record.created_at < clock.now() - STALE_AFTER:
            record.created_at = clock.now()
            record.save(update_fields=["created_at"])
            record._claimed_now = True
        return record
