"""One error body for every 4xx: {"status", "code", "detail", "errors": {field: [messages]}}.

Services raise Django's ValidationError({field: message}) and PermissionDenied; they are turned
into DRF's exceptions here so that the API never repeats the services' rules.
"""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, serializers
from rest_framework.views import exception_handler as drf_exception_handler


class ErrorSerializer(serializers.Serializer):
    """Documented shape of every 4xx response body."""

    status = serializers.IntegerField()
    code = serializers.CharField()
    detail = serializers.CharField()
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Messages by field name (request fields, query parameters or headers).",
    )


def to_drf(exc):
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "error_dict"):
            return exceptions.ValidationError(exc.message_dict)
        return exceptions.ValidationError({"non_field_errors": exc.messages})
    if isinstance(exc, DjangoPermissionDenied):
        return exceptions.PermissionDenied(str(exc) or None)
    if isinstance(exc, Http404):
        return exceptions.NotFound()
    return exc


def _flatten(data, prefix=""):
    """DRF's nested error dict -> {"exam.patient.identifier": ["..."]}."""
    out = {}
    if isinstance(data, dict):
        for key, value in data.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            out.update(_flatten(value, name))
    elif isinstance(data, list) and data and all(isinstance(v, dict | list) for v in data):
        for index, value in enumerate(data):
            out.update(_flatten(value, f"{prefix}[{index}]"))
    else:
        values = data if isinstance(data, list) else [data]
        out[prefix or "non_field_errors"] = [str(v) for v in values]
    return out


def error_body(status, code, detail, errors=None):
    return {"status": status, "code": code, "detail": detail, "errors": errors or {}}


def exception_handler(exc, context):
    exc = to_drf(exc)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        errors = _flatten(exc.detail)
        first_field, messages = next(iter(errors.items()), ("", ["Invalid input."]))
        detail = f"{first_field}: {messages[0]}" if first_field else messages[0]
        response.data = error_body(response.status_code, "invalid", detail, errors)
    else:
        detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
        code = getattr(detail, "code", None) or getattr(exc, "default_code", "error")
        response.data = error_body(response.status_code, str(code), str(detail))
    return response
