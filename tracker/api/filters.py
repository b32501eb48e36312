from datetime import timedelta

import django_filters

from ..models import Category, Finding, Status


class FindingFilter(django_filters.FilterSet):
    overdue = django_filters.BooleanFilter(
        method="filter_overdue", label="Past the contact deadline and not yet communicated."
    )
    due_within = django_filters.NumberFilter(
        method="filter_due_within",
        min_value=0,
        max_value=525600,
        label="Awaiting contact and due in the next N minutes (not yet overdue).",
    )
    category = django_filters.ChoiceFilter(choices=Category.choices)
    status = django_filters.ChoiceFilter(choices=Status.choices)
    responsible_clinician = django_filters.CharFilter(
        field_name="responsible_clinician__username", label="Username of the responsible clinician."
    )
    accession_number = django_filters.CharFilter(field_name="exam__accession_number")

    class Meta:
        model = Finding
        fields = ["overdue", "due_within", "category", "status", "responsible_clinician"]

    def filter_overdue(self, queryset, name, value):
        if value is None:
            return queryset
        overdue = queryset.overdue()
        return overdue if value else queryset.exclude(pk__in=overdue.values("pk"))

    def filter_due_within(self, queryset, name, value):
        if value is None:
            return queryset
        return queryset.due_within(timedelta(minutes=float(value)))
