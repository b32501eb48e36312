import importlib

import pytest


def validate_r4(resource):
    """Validate with fhir.resources (R4B classes; structurally R4 for these resources) and parse
    strictly with fhirclient's R4 (4.0.1) models, which reject unknown or mistyped elements."""
    resource_type = resource["resourceType"]
    module = importlib.import_module(f"fhir.resources.R4B.{resource_type.lower()}")
    getattr(module, resource_type).model_validate(resource)
    client_module = importlib.import_module(f"fhirclient.models.{resource_type.lower()}")
    return getattr(client_module, resource_type)(resource, strict=True)


@pytest.fixture
def fhir_get(client):
    def _get(user, path, **params):
        if user is not None:
            client.force_login(user)
        else:
            client.logout()
        return client.get(f"/fhir/r4/{path}", params, HTTP_ACCEPT="application/fhir+json")

    return _get
