"""generate_volume: synthetic years of findings, bulk inserted, each row with its history."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction

from tracker.models import CommunicationAttempt, Exam, Finding, Status
from tracker.models.findings import VOIDED_STATUSES

pytestmark = pytest.mark.django_db


def generate(n, seed):
    out = StringIO()
    call_command("generate_volume", findings=n, seed=seed, batch=150, stdout=out)
    return out.getvalue()


def test_it_generates_years_of_findings_with_history_and_progress(clock):
    output = generate(400, seed=3)
    assert "400 / 400 findings" in output
    assert Finding.objects.count() == 400
    assert Exam.objects.filter(accession_number__startswith="VOL3-").count() == 400
    # Every row has its creation history, dated at the event and naming the system user.
    assert Finding.history.filter(history_type="+").count() == 400
    first = Finding.history.order_by("flagged_at").first()
    assert first.history_date == first.flagged_at
    assert first.history_user.username == "generate-volume"
    assert CommunicationAttempt.history.count() == CommunicationAttempt.objects.count()
    flagged = Finding.objects.order_by("flagged_at").values_list("flagged_at", flat=True)
    assert (flagged.last() - flagged.first()).days > 2 * 365
    categories = set(Finding.objects.values_list("category", flat=True))
    assert categories == {"critical", "significant", "routine"}
    breached = Finding.objects.breached().count()
    assert 0 < breached < 400 * 0.2
    assert Finding.objects.exclude(breach_reason="").count() > 0
    assert Finding.objects.filter(status__in=VOIDED_STATUSES).exclude(void_reason="").count() == (
        Finding.objects.filter(status__in=VOIDED_STATUSES).count()
    )
    assert Finding.objects.filter(status=Status.CLOSED).count() > 300


class _Undo(Exception):
    def __init__(self, rows):
        self.rows = rows


def generated_then_undone(n, seed):
    try:
        with transaction.atomic():
            generate(n, seed)
            raise _Undo(list(Finding.objects.order_by("pk").values_list(*FIELDS)))
    except _Undo as undo:
        return undo.rows


FIELDS = ("category", "status", "flagged_at", "communicated_at", "breach_reason")


def test_the_same_seed_gives_the_same_data(clock):
    first = generated_then_undone(60, seed=9)
    second = generated_then_undone(60, seed=9)
    assert len(first) == 60
    assert first == second
    assert generated_then_undone(60, seed=10) != first


def test_a_seed_is_not_added_twice_and_n_must_be_positive(clock):
    generate(20, seed=4)
    with pytest.raises(CommandError, match="already in this database"):
        generate(20, seed=4)
    with pytest.raises(CommandError, match="at least 1"):
        call_command("generate_volume", findings=0, seed=1)
    assert Finding.objects.count() == 20
