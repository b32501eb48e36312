"""The screens' forms. They only collect and tidy input: the services validate and record.

Every form carries a hidden `submission_key`, made when the form is first shown, so that a
double click or a resubmitted page records once (the services return the first result).
"""

import uuid

from django import forms
from django.core.exceptions import ValidationError
from django.urls import reverse

from . import clock, identifiers
from .models import (
    BreachReason,
    Category,
    Channel,
    Modality,
    Outcome,
    PlannedAction,
    Role,
    User,
)
from .templatetags.clinical import local


def referrers():
    return User.objects.filter(role=Role.REFERRER, is_active=True).select_related("department")


class ClinicianChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        extra = obj.role_and_department
        return f"{obj.display_name} ({extra})" if extra else obj.display_name


class ServiceForm(forms.Form):
    """A form whose data goes to a service; the service's ValidationError lands on its fields."""

    submission_key = forms.UUIDField(widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("submission_key", uuid.uuid4())

    def _post_clean(self):
        super()._post_clean()
        if "submission_key" in self._errors:
            # Only a damaged or hand-made form lacks it: say so, and give the next try a key.
            del self._errors["submission_key"]
            self.add_error(None, "This form was incomplete: please check it and submit again.")
            self.data = self.data.copy()
            self.data["submission_key"] = str(uuid.uuid4())

    def add_service_error(self, error: ValidationError):
        if hasattr(error, "error_dict"):
            for name, messages in error.message_dict.items():
                self.add_error(name if name in self.fields else None, messages)
        else:
            self.add_error(None, error.messages)


class FlagForm(ServiceForm):
    accession_number = forms.CharField(
        max_length=40,
        error_messages={"required": "Enter the accession number."},
        help_text="Type or scan it; the exam and the clinician's numbers appear below.",
    )
    category = forms.ChoiceField(
        choices=Category.choices, widget=forms.RadioSelect, initial=Category.CRITICAL
    )
    description = forms.CharField(
        label="Finding",
        error_messages={"required": "Describe the finding."},
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="What you found, as you would say it on the phone.",
    )
    responsible_clinician = ClinicianChoiceField(
        queryset=User.objects.none(),
        required=False,
        empty_label="The exam's ordering clinician",
        help_text="Pre-filled from the exam; change it if someone else is responsible.",
    )
    # Only when the accession number is not known yet: register the exam on the spot.
    patient_identifier_kind = forms.ChoiceField(
        label="Patient identifier is",
        choices=identifiers.KIND_CHOICES,
        widget=forms.RadioSelect,
        required=False,
        help_text="An NHS number is checked by its check digit.",
    )
    patient_identifier = forms.CharField(
        label="Patient identifier",
        max_length=40,
        required=False,
        # Typed or scanned from the request form: no autocomplete, no spell-check rewriting it.
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "characters"}
        ),
    )
    patient_date_of_birth = forms.DateField(
        label="Date of birth",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    patient_family_name = forms.CharField(label="Patient family name", required=False)
    patient_given_name = forms.CharField(label="Patient given name", required=False)
    modality = forms.ChoiceField(
        choices=[("", "—")] + Modality.choices, required=False, label="Modality"
    )
    body_part = forms.CharField(required=False, label="Body part")
    ordering_clinician = ClinicianChoiceField(
        queryset=User.objects.none(), required=False, label="Ordering clinician"
    )

    # Shown only when the exam already has an open finding (the service asks to confirm).
    confirm_second_open = forms.BooleanField(
        required=False,
        label="Yes, this is a different finding: flag it as well",
    )

    NEW_EXAM_FIELDS = (
        "patient_identifier",
        "patient_date_of_birth",
        "patient_family_name",
        "patient_given_name",
        "modality",
        "body_part",
        "ordering_clinician",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["responsible_clinician"].queryset = referrers()
        self.fields["ordering_clinician"].queryset = referrers()
        self.fields["accession_number"].widget.attrs.update(
            {
                "autofocus": True,
                "autocomplete": "off",
                # htmx: show the exam and the clinician's numbers as soon as it is typed.
                "hx-get": reverse("exam_lookup"),
                "hx-trigger": "input changed delay:400ms, change",
                # Only the exam summary is redrawn, never a field someone may be typing in.
                "hx-target": "#exam-summary",
                "hx-sync": "this:replace",
                # A barcode scanner ends with Enter: move on to the finding, do not submit.
                "data-enter-moves-to": "id_description",
            }
        )

    def clean_accession_number(self):
        return self.cleaned_data["accession_number"].strip()

    def clean_patient_date_of_birth(self):
        born = self.cleaned_data["patient_date_of_birth"]
        if born is not None and born > local(clock.now()).date():
            raise ValidationError("The date of birth cannot be in the future.")
        return born

    def clean(self):
        data = super().clean()
        identifier = (data.get("patient_identifier") or "").strip()
        if identifier:
            kind = data.get("patient_identifier_kind")
            if not kind:
                self.add_error(
                    "patient_identifier_kind",
                    "Say whether it is an NHS number or a hospital number.",
                )
            else:
                try:
                    data["patient_identifier"] = identifiers.clean_identifier(identifier, kind)
                except ValidationError as error:
                    self.add_error("patient_identifier", error)
        return data

    def wants_new_exam(self):
        data = self.cleaned_data
        return any(data.get(name) for name in self.NEW_EXAM_FIELDS)


class AttemptForm(ServiceForm):
    contacted_user = ClinicianChoiceField(
        queryset=User.objects.none(),
        required=False,
        label="Whom you reached (or tried)",
        empty_label="Someone else (name them below)",
    )
    contact_name = forms.CharField(max_length=120, required=False, label="Name, if not in the list")
    contact_role = forms.CharField(
        max_length=120, required=False, label="Their role", help_text="e.g. FY2 Surgery"
    )
    contact_number = forms.CharField(max_length=40, required=False, label="Number called")
    channel = forms.ChoiceField(
        choices=Channel.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose how you made contact."},
    )
    outcome = forms.ChoiceField(
        choices=Outcome.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose the outcome: was it read back?"},
    )
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    breach_reason = forms.ChoiceField(
        choices=[("", "—")] + BreachReason.choices,
        required=False,
        label="Reason for the delay",
        help_text="Required when a successful contact is after the deadline.",
    )
    breach_reason_text = forms.CharField(
        required=False, label="Reason, in your words", widget=forms.TextInput()
    )
    attempted_at = forms.DateTimeField(
        required=False,
        label="When the call happened",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"],
        help_text="Local time. Leave it as now unless you are logging a call made earlier.",
    )
    planned_action = forms.ChoiceField(
        choices=[("", "—")] + PlannedAction.choices,
        required=False,
        label="The action they said they will take",
        help_text="For a clinician without an account here: their read-back is recorded as "
        "their verbal acknowledgement.",
    )
    planned_action_note = forms.CharField(required=False, label="Action, in their words")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["contacted_user"].queryset = referrers()
        self.fields["contacted_user"].widget.attrs["autofocus"] = True
        self.fields[
            "contacted_user"
        ].help_text = (
            "Reaching someone other than the responsible clinician makes them responsible."
        )


class AcknowledgeForm(ServiceForm):
    # The planned action comes from the button pressed: one click, with an optional note.
    planned_action = forms.ChoiceField(
        choices=PlannedAction.choices,
        widget=forms.HiddenInput,
        error_messages={"required": "Choose the planned action."},
    )
    note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        help_text="Optional, unless you choose 'Other'.",
    )


class HandoverForm(ServiceForm):
    to_clinician = ClinicianChoiceField(
        queryset=User.objects.none(),
        label="Hand over to",
        empty_label="Choose a colleague",
        error_messages={"required": "Choose the colleague to hand over to."},
    )
    reason = forms.CharField(
        error_messages={"required": "Give a reason for the hand-over."},
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="e.g. End of shift; Dr Taylor is on call.",
    )

    def __init__(self, *args, finding=None, **kwargs):
        super().__init__(*args, **kwargs)
        qs = referrers()
        if finding is not None:
            qs = qs.exclude(pk=finding.responsible_clinician_id)
        self.fields["to_clinician"].queryset = qs
        self.fields["to_clinician"].widget.attrs["autofocus"] = True


class DeclineForm(ServiceForm):
    reason = forms.CharField(
        label="Why is this not yours?",
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": "Say why this finding is not yours."},
        help_text="e.g. Not my patient: transferred to surgery. It goes back to the radiologist.",
    )


class CloseForm(ServiceForm):
    note = forms.CharField(
        required=False, label="Closing note", help_text="Optional: e.g. drain in, CXR improved."
    )
