"""simple-history's per-instance manager: built from one class, and still scoped to its object."""

import pytest

from tracker.models import Finding


@pytest.mark.django_db
def test_the_history_manager_class_is_built_once_and_each_manager_sees_its_own_rows(clock, flag):
    first = flag()
    other = flag(accession_number=first.exam.accession_number, description="Second finding.")
    assert type(first.history) is type(other.history)
    assert list(first.history.values_list("id", flat=True)) == [first.pk]
    assert list(other.history.values_list("id", flat=True)) == [other.pk]
    assert Finding.history.count() == 2
