"""Bulk writes would bypass history on audited (clinical) models: refused at run time, and none
in the source tree outside migrations, the volume generator and benchmarks."""

import ast
from pathlib import Path

import pytest
from django.contrib.auth.models import Group

from tracker.audit.bulk import BulkWriteRefused, allow_bulk
from tracker.models import Finding, Patient

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]
# Where bypassing history is allowed (and must say so with allow_bulk()).
EXEMPT = ("migrations", "generate_volume", "benchmarks")


def test_queryset_update_on_a_clinical_model_is_refused(clock, flag):
    finding = flag()
    with pytest.raises(BulkWriteRefused, match="Finding.update"):
        Finding.objects.filter(pk=finding.pk).update(description="changed")
    finding.refresh_from_db()
    assert finding.description == "Large right pneumothorax."


def test_bulk_create_and_bulk_update_on_a_clinical_model_are_refused(db):
    with pytest.raises(BulkWriteRefused, match="bulk_create"):
        Patient.objects.bulk_create([Patient(identifier="X1", family_name="Test")])
    patient = Patient.objects.create(identifier="X2", family_name="Test")
    patient.family_name = "Changed"
    with pytest.raises(BulkWriteRefused, match="bulk_update"):
        Patient.objects.bulk_update([patient], ["family_name"])
    assert Patient.objects.get().family_name == "Test"


def test_a_volume_generator_may_bulk_write_when_it_says_so(db):
    with allow_bulk("volume generator"):
        Patient.objects.bulk_create([Patient(identifier="V1", family_name="Volume")])
    assert Patient.objects.filter(identifier="V1").exists()
    with pytest.raises(ValueError, match="Say why"), allow_bulk(""):
        pass


def test_models_without_history_are_not_affected(db):
    Group.objects.bulk_create([Group(name="a")])
    assert Group.objects.filter(name="a").update(name="b") == 1


BULK_METHODS = {"bulk_create", "bulk_update"}
QUERYSET_HINTS = {"objects", "filter", "exclude", "all", "select_for_update", "history"}


def _chain_names(node):
    """Attribute and call names along a receiver chain: Finding.objects.filter(...) -> {...}."""
    names = set()
    while True:
        if isinstance(node, ast.Call):
            node = node.func
        elif isinstance(node, ast.Attribute):
            names.add(node.attr)
            node = node.value
        else:
            return names


def bulk_calls(source):
    """(line, method) of each bulk write; a line marked `# bulk-ok: <why>` (a model without
    history, e.g. the audit chain itself) is allowed: the run-time guard still checks it."""
    lines = source.splitlines()
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        if "# bulk-ok:" in lines[node.lineno - 1]:
            continue
        if node.func.attr in BULK_METHODS:
            yield node.lineno, node.func.attr
        elif node.func.attr == "update" and _chain_names(node.func.value) & QUERYSET_HINTS:
            yield node.lineno, "update"


def test_the_scan_finds_bulk_writes():
    source = (
        "Finding.objects.filter(pk=1).update(status='x')\n"
        "Patient.objects.bulk_create([])\n"
        "context.update(a=1)\n"
        "qs.select_for_update().bulk_update([], [])\n"
        "AuditEntry.objects.bulk_create([])  # bulk-ok: no history\n"
    )
    assert [kind for _, kind in bulk_calls(source)] == ["update", "bulk_create", "bulk_update"]


def test_no_bulk_writes_in_the_source_tree():
    found = []
    for folder in ("tracker", "config"):
        for path in (ROOT / folder).rglob("*.py"):
            relative = path.relative_to(ROOT)
            if any(part in EXEMPT or part.startswith(EXEMPT) for part in relative.parts):
                continue
            found += [f"{relative}:{line} {kind}()" for line, kind in bulk_calls(path.read_text())]
    # The guard itself only names them.
    found = [f for f in found if not f.startswith("tracker/audit/bulk.py")]
    assert not found, "Bulk writes bypass history on audited models:\n" + "\n".join(found)
