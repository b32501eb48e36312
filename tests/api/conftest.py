def assert_error(response, status, field=None):
    """Every 4xx has the same body; a bad input names the field."""
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"status", "code", "detail", "errors"}
    assert body["status"] == status and body["detail"]
    if field is not None:
        assert field in body["errors"], body
    return body
