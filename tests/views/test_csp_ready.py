"""Every screen works under `script-src 'self'` with no unsafe-inline: no inline scripts,
no style attributes, no on* handlers (the security helper adds the Content-Security-Policy)."""

import re

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
STYLE_ATTRIBUTE = re.compile(r"\sstyle\s*=", re.I)
HANDLER_ATTRIBUTE = re.compile(r"\son[a-z]+\s*=", re.I)


def assert_csp_ready(html):
    assert not INLINE_SCRIPT.search(html), INLINE_SCRIPT.search(html).group(0)
    assert not STYLE_ATTRIBUTE.search(html)
    assert not HANDLER_ATTRIBUTE.search(html), HANDLER_ATTRIBUTE.search(html).group(0)
    assert '<meta name="htmx-config" content=\'{"includeIndicatorStyles": false}\'>' in html


def test_the_sign_in_page_has_no_inline_script_or_style(client):
    assert_csp_ready(client.get(reverse("login")).content.decode())


def test_the_radiologists_screens_have_no_inline_script_or_style(
    clock, as_user, flag, radiologist, exam, call
):
    finding = flag("critical")
    call(finding, radiologist)
    client = as_user(radiologist)
    for url in [
        reverse("worklist"),
        reverse("flag"),
        reverse("flag") + f"?accession_number={exam.accession_number}",
        reverse("finding", args=[finding.pk]),
        reverse("log_call", args=[finding.pk]),
        reverse("hand_over", args=[finding.pk]),
    ]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert_csp_ready(response.content.decode())


def test_the_referrers_screens_have_no_inline_script_or_style(
    clock, as_user, flag, radiologist, referrer, call
):
    finding = flag("critical")
    call(finding, radiologist)
    client = as_user(referrer)
    for url in [
        reverse("inbox"),
        reverse("finding", args=[finding.pk]),
        reverse("acknowledge", args=[finding.pk]),
    ]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert_csp_ready(response.content.decode())
