"""Forms of the corrections on the finding page: cancel, entered in error, recategorise, correct
the patient or the exam, route an unrouted finding. Each asks for the reason the history keeps;
the services check permission and state and record."""

from django import forms
from django.core.exceptions import ValidationError

from . import clock, identifiers
from .forms import ClinicianChoiceField, ServiceForm, referrers
from .models import Category, Modality
from .templatetags.clinical import local


def reason_field(label, example):
    return forms.CharField(
        label=label,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": "Give the reason: it is kept in the record."},
        help_text=f"e.g. {example}",
    )


class VoidForm(forms.Form):
    """Cancel, or mark entered in error."""

    reason = reason_field("Reason", "Flagged on the wrong exam; the right one is ACC123457.")


class RecategoriseForm(forms.Form):
    category = forms.ChoiceField(
        choices=Category.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose the new category."},
    )
    reason = reason_field("Reason for the new category", "Second read: a small pneumothorax.")


class PatientCorrectionForm(forms.Form):
    identifier_kind = forms.ChoiceField(
        label="Patient identifier is", choices=identifiers.KIND_CHOICES, widget=forms.RadioSelect
    )
    identifier = forms.CharField(
        label="Patient identifier",
        max_length=40,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    family_name = forms.CharField(max_length=100)
    given_name = forms.CharField(max_length=100, required=False)
    date_of_birth = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    reason = reason_field("Reason for the correction", "MRN typed wrong; checked against PAS.")

    def clean_date_of_birth(self):
        born = self.cleaned_data["date_of_birth"]
        if born is not None and born > local(clock.now()).date():
            raise ValidationError("The date of birth cannot be in the future.")
        return born

    def clean(self):
        data = super().clean()
        if data.get("identifier") and data.get("identifier_kind"):
            try:
                data["identifier"] = identifiers.clean_identifier(
                    data["identifier"], data["identifier_kind"]
                )
            except ValidationError as error:
                self.add_error("identifier", error)
        return data


class ExamCorrectionForm(forms.Form):
    modality = forms.ChoiceField(choices=Modality.choices)
    body_part = forms.CharField(max_length=80, required=False)
    description = forms.CharField(max_length=200, required=False, label="Exam description")
    ordering_clinician = ClinicianChoiceField(
        queryset=None, required=False, empty_label="Not known"
    )
    reason = reason_field("Reason for the correction", "Ordered by Dr Khan, not Dr Smith.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["ordering_clinician"].queryset = referrers()


class RouteForm(ServiceForm):
    to_clinician = ClinicianChoiceField(
        queryset=None,
        label="Responsible clinician",
        empty_label="Choose the referrer",
        error_messages={"required": "Choose who is responsible for this result."},
    )
    reason = reason_field("How you know", "Orderer confirmed by ward clerk, ward 7.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to_clinician"].queryset = referrers()
