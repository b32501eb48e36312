"""Security headers on every page, CSP without inline code (admin included), and
`check --deploy` clean with the production settings."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def csp_directives(response):
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


def test_pages_send_a_strict_content_security_policy_and_refuse_framing(referrer):
    client = Client()
    client.force_login(referrer)
    response = client.get("/inbox/")
    csp = csp_directives(response)
    assert csp["script-src"] == ["'self'"]
    assert csp["style-src"] == ["'self'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert "unsafe-inline" not in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
INLINE_STYLE = re.compile(r"<style\b|\sstyle=\"", re.IGNORECASE)
INLINE_HANDLER = re.compile(r"\son[a-z]+=\"", re.IGNORECASE)


def test_no_page_needs_inline_script_or_style_so_the_csp_breaks_nothing(
    clock, flag, radiologist, referrer, governance, administrator
):
    finding = flag()
    pages = [
        (None, "/accounts/login/"),
        (referrer, "/inbox/"),
        (radiologist, "/worklist/"),
        (radiologist, "/findings/new/"),
        (radiologist, reverse("finding", args=[finding.pk])),
        (radiologist, reverse("log_call", args=[finding.pk])),
        (governance, "/findings/"),
        (governance, reverse("audit:finding_access_log", args=[finding.pk])),
        (administrator, reverse("admin:index")),
        (administrator, reverse("admin:tracker_finding_changelist")),
        (administrator, reverse("admin:tracker_finding_change", args=[finding.pk])),
        (administrator, reverse("admin:tracker_finding_history", args=[finding.pk])),
        (administrator, reverse("admin:tracker_communicationpolicy_changelist")),
        (administrator, reverse("admin:tracker_user_add")),
    ]
    problems = []
    for user, url in pages:
        client = Client()
        if user:
            client.force_login(user)
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        for name, pattern in [
            ("inline script", INLINE_SCRIPT),
            ("inline style", INLINE_STYLE),
            ("inline event handler", INLINE_HANDLER),
        ]:
            for match in pattern.finditer(html):
                # JSON data blocks are not executed; the CSP allows them.
                if 'type="application/json"' in match.group(0):
                    continue
                snippet = html[match.start() : match.start() + 80]
                # simple-history's history list: the CSP drops this one border, nothing else.
                if 'style="border-top: 0"' in snippet and "/history/" in url:
                    continue
                problems.append(f"{url}: {name}: {snippet}")
    assert not problems, "\n".join(problems)


def production_env(tmp_path):
    env = dict(os.environ)
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # set by the browser tests' conftest, not prod
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.production",
        SECRET_KEY="k" * 20 + "9Xq!zP#2wL$7vR@4mN&8tY^1cB*6hJ(3",
        DATABASE_URL="sqlite:///" + str(tmp_path / "db.sqlite3"),
        CELERY_BROKER_URL="redis://127.0.0.1:6379/5",
        ALLOWED_HOSTS="tracker.example.nhs.uk",
        AUDIT_HMAC_KEY="a" * 16 + "b" * 16 + "c" * 8,
        AUDIT_SEAL_PATH=str(tmp_path / "seals.jsonl"),
    )
    return env


def test_check_deploy_is_clean_with_the_production_settings(tmp_path):
    result = subprocess.run(  # noqa: S603 - our own manage.py with our interpreter
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=production_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_production_refuses_to_start_without_an_audit_key(tmp_path):
    env = production_env(tmp_path)
    del env["AUDIT_HMAC_KEY"]
    result = subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "AUDIT_HMAC_KEY" in result.stderr
