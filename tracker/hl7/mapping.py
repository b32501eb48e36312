"""From HL7 values to the tracker's: category, modality and clinicians. Site-configurable."""

from django.conf import settings
from django.db.models import Exists, OuterRef, Q

from ..models import Category, Department, Modality, ProviderIdentifier, Role, User

# Most severe first: when several observations are flagged, the report takes the most severe.
SEVERITY = [Category.CRITICAL, Category.SIGNIFICANT, Category.ROUTINE]
CODED_TYPES = {"CE", "CWE", "CNE", "CF"}

# OBR-24 (diagnostic service section) and DICOM modality codes -> our modalities.
MODALITY_CODES = {
    "CT": Modality.CT,
    "MR": Modality.MR,
    "MRI": Modality.MR,
    "US": Modality.US,
    "XR": Modality.XR,
    "CR": Modality.XR,
    "DX": Modality.XR,
    "RX": Modality.XR,
    "NM": Modality.NM,
    "PT": Modality.PET,
    "PET": Modality.PET,
    "MG": Modality.MG,
    "RF": Modality.FL,
    "FL": Modality.FL,
    "XA": Modality.IR,
    "IR": Modality.IR,
}


def abnormal_flag_categories():
    return {k.upper(): v for k, v in settings.HL7_ABNORMAL_FLAG_CATEGORIES.items()}


def category_codes():
    return {k.upper(): v for k, v in settings.HL7_CATEGORY_CODES.items()}


def category_for(observations):
    """The category a report is flagged with, or None (unflagged: exam only).

    Flagged by an OBX-8 abnormal flag in the site's table (default AA/HH/LL critical, A
    significant), or by a coded OBX whose value is a configured category code (e.g. CRITICAL).
    """
    flags = abnormal_flag_categories()
    codes = category_codes()
    found = set()
    for obx in observations:
        for flag in obx.abnormal_flags:
            if flag in flags:
                found.add(flags[flag])
        if obx.value_type in CODED_TYPES and obx.value.upper() in codes:
            found.add(codes[obx.value.upper()])
    for category in SEVERITY:
        if category in found:
            return category
    return None


def modality_for(order):
    if order.modality_code in MODALITY_CODES:
        return MODALITY_CODES[order.modality_code]
    prefix = order.service_code[:2].upper()
    return MODALITY_CODES.get(prefix)


def description_for(order):
    """The report text the finding carries: text observations, else the service name."""
    texts = [
        obx.value
        for obx in order.observations
        if obx.value and obx.value_type not in CODED_TYPES and obx.value_type != "NM"
    ]
    return "\n".join(texts).strip() or order.service_text


def find_user(person):
    """A clinician named by another system: a registered provider id first, then username.

    One query: users matching either way, the provider-id match ordered first.
    """
    if not person.id:
        return None
    by_identifier = ProviderIdentifier.objects.filter(user=OuterRef("pk"), value=person.id).filter(
        Q(assigning_authority="") | Q(assigning_authority=person.authority)
    )
    return (
        User.objects.annotate(by_identifier=Exists(by_identifier))
        .filter(Q(by_identifier=True) | Q(username__iexact=person.id))
        .select_related("department")
        .order_by("-by_identifier", "pk")
        .first()
    )


def interface_user():
    """The account that flags a finding when OBR-32 names no radiologist we know.

    Role radiologist (the services let only radiologists flag), department Radiology, no usable
    password: it cannot sign in. Created on first use; the site may set its name and details.
    """
    user = User.objects.filter(username=settings.HL7_INTERFACE_USERNAME).first()
    if user is not None:
        return user
    department, _ = Department.objects.get_or_create(
        code="radiology", defaults={"name": "Radiology"}
    )
    user = User(
        username=settings.HL7_INTERFACE_USERNAME,
        first_name="HL7",
        last_name="interface (RIS)",
        role=Role.RADIOLOGIST,
        department=department,
        grade="System account",
    )
    user.set_unusable_password()
    user._change_reason = "Created for HL7 ingest"
    user.save()
    return user


def flagging_radiologist(order):
    user = find_user(order.interpreter)
    if user is not None and user.has_role(Role.RADIOLOGIST):
        return user
    return interface_user()
