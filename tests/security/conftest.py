import pytest
from django.conf import settings


def pytest_collection_modifyitems(config, items):
    """Tests marked `postgresql` prove PostgreSQL-only behaviour (row locks across connections).
    They are deselected, not skipped, on the SQLite run: CI's PostgreSQL run executes them."""
    if settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        return
    keep, drop = [], []
    for item in items:
        (drop if item.get_closest_marker("postgresql") else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture
def seal_file(settings, tmp_path):
    settings.AUDIT_SEAL_PATH = str(tmp_path / "seals.jsonl")
    return tmp_path / "seals.jsonl"
