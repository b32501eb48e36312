"""The OpenAPI 3 schema and the browsable docs (Swagger UI served from a PyPI package)."""

import pytest
import yaml

pytestmark = pytest.mark.django_db


def test_the_openapi_schema_documents_every_endpoint_and_its_errors(client, radiologist):
    client.force_login(radiologist)

    response = client.get("/api/schema/")

    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    assert schema["openapi"].startswith("3.")
    paths = schema["paths"]
    assert set(paths) == {
        "/api/v1/findings/",
        "/api/v1/findings/{id}/",
        "/api/v1/findings/{id}/attempts/",
        "/api/v1/findings/{id}/acknowledge/",
        "/api/v1/findings/{id}/hand-over/",
        "/api/v1/findings/{id}/cancel/",
        "/api/v1/findings/{id}/entered-in-error/",
        "/api/v1/findings/{id}/recategorise/",
        "/api/v1/findings/{id}/decline/",
        "/api/v1/findings/{id}/close/",
        "/api/v1/findings/{id}/route/",
    }
    for path in ("cancel", "entered-in-error", "recategorise", "close"):
        post = paths[f"/api/v1/findings/{{id}}/{path}/"]["post"]
        assert {"200", "400", "403", "404"} <= set(post["responses"]), path
    create = paths["/api/v1/findings/"]["post"]
    assert {"201", "400", "401", "403", "409", "422"} <= set(create["responses"])
    assert any(p["name"] == "Idempotency-Key" for p in create["parameters"])
    listing = paths["/api/v1/findings/"]["get"]
    assert {"overdue", "due_within", "category", "responsible_clinician", "page"} <= {
        p["name"] for p in listing["parameters"]
    }
    assert {"tokenAuth", "cookieAuth"} <= set(schema["components"]["securitySchemes"])


def test_the_api_docs_page_uses_local_static_files(client, radiologist):
    client.force_login(radiologist)

    response = client.get("/api/docs/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html
    assert "cdn" not in html.lower()
