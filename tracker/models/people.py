"""Who is involved: clinicians (users with a clinical profile), departments, patients, exams."""

from django.contrib.auth.models import AbstractUser
from django.db import models
from simple_history.models import HistoricalRecords

from .history import HistoryManager


class Role(models.TextChoices):
    RADIOLOGIST = "radiologist", "Radiologist"
    REFERRER = "referrer", "Referrer"
    GOVERNANCE = "governance", "Governance lead"
    ADMINISTRATOR = "administrator", "Administrator"


class Department(models.Model):
    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=120)
    # Told when a finding of this department's passes its deadline (policy's escalation chain).
    lead = models.ForeignKey(
        "tracker.User",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="departments_led",
    )
    history = HistoricalRecords(history_manager=HistoryManager)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class User(AbstractUser):
    """A person who signs in. The clinician profile (role, department, how to reach them)
    lives here so that every user has exactly one, with no join to forget."""

    role = models.CharField(max_length=20, choices=Role.choices, blank=True)
    title = models.CharField(max_length=20, blank=True, help_text="e.g. Dr, Mr, Ms")
    grade = models.CharField(max_length=60, blank=True, help_text="e.g. FY2, Consultant, GP")
    department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.PROTECT, related_name="members"
    )
    phone = models.CharField(max_length=40, blank=True)
    bleep = models.CharField("bleep / pager", max_length=20, blank=True)
    covering_colleague = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="covering_for",
        help_text="Who takes this clinician's results when they cannot be reached.",
    )
    # Password hashes and login times are not clinical history and must not sit in the audit trail.
    history = HistoricalRecords(
        history_manager=HistoryManager, excluded_fields=["password", "last_login"]
    )

    class Meta:
        ordering = ["last_name", "first_name", "username"]

    def __str__(self):
        return self.display_name

    @property
    def display_name(self):
        name = self.get_full_name() or self.username
        return f"{self.title} {name}".strip()

    @property
    def short_name(self):
        """'Dr A Smith': the form used in the documentation statement."""
        initial = f"{self.first_name[:1]} " if self.first_name else ""
        name = f"{initial}{self.last_name}".strip() or self.username
        return f"{self.title} {name}".strip()

    @property
    def role_and_department(self):
        """'FY2 Surgery'."""
        parts = [self.grade, self.department.name if self.department_id else ""]
        return " ".join(p for p in parts if p)

    def has_role(self, *roles):
        return self.is_active and self.role in roles


class IdentifierKind(models.TextChoices):
    MRN = "mrn", "Hospital number (MRN)"
    NHS_NUMBER = "nhs_number", "NHS number"


class Patient(models.Model):
    identifier = models.CharField(
        "patient identifier", max_length=40, unique=True, help_text="MRN or NHS number"
    )
    identifier_kind = models.CharField(
        max_length=12, choices=IdentifierKind.choices, default=IdentifierKind.MRN
    )
    family_name = models.CharField(max_length=100)
    given_name = models.CharField(max_length=100, blank=True)
    date_of_birth = models.DateField(null=True, blank=True)
    history = HistoricalRecords(history_manager=HistoryManager)

    class Meta:
        ordering = ["family_name", "given_name"]

    def __str__(self):
        return f"{self.family_name.upper()}, {self.given_name} ({self.identifier})"


class Modality(models.TextChoices):
    XR = "XR", "X-ray"
    CT = "CT", "CT"
    MR = "MR", "MRI"
    US = "US", "Ultrasound"
    NM = "NM", "Nuclear medicine"
    PET = "PET", "PET"
    MG = "MG", "Mammography"
    FL = "FL", "Fluoroscopy"
    IR = "IR", "Interventional radiology"


class Exam(models.Model):
    accession_number = models.CharField(max_length=40, unique=True)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="exams")
    modality = models.CharField(max_length=3, choices=Modality.choices)
    body_part = models.CharField(max_length=80, blank=True)
    description = models.CharField(max_length=200, blank=True)
    performed_at = models.DateTimeField(null=True, blank=True)
    ordering_clinician = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="ordered_exams"
    )
    referring_department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.PROTECT, related_name="exams"
    )
    location = models.CharField(max_length=80, blank=True, help_text="Ward, clinic or practice")
    history = HistoricalRecords(history_manager=HistoryManager)

    class Meta:
        ordering = ["-performed_at"]

    def __str__(self):
        return f"{self.accession_number} {self.get_modality_display()} {self.body_part}".strip()
