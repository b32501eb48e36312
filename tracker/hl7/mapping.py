"""From HL7 values to the tracker's: category, modality and clinicians. Site-configurable."""

from django.conf import settings
from django.db.models import Q

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


def find_users(*people):
    """The clinicians other systems name (None where unknown), in two plain queries.

    A registered provider id (value, with a matching or empty assigning authority) wins over a
    username equal to the id (as sent, or lower-cased).
    """
    ids = {p.id for p in people if p and p.id}
    if not ids:
        return [None for _ in people]
    registered = {}
    # .order_by(): the default orderings would only cost query-building time on every message.
    for value, authority, user_id in (
        ProviderIdentifier.objects.filter(value__in=ids)
        .order_by()
        .values_list("value", "assigning_authority", "user_id")
    ):
        registered.setdefault(value, []).append((authority, user_id))
    user_ids = {user_id for entries in registered.values() for _, user_id in entries}
    usernames = ids | {i.lower() for i in ids}
    users = list(
        User.objects.filter(Q(pk__in=user_ids) | Q(username__in=usernames))
        .select_related("department")
        .order_by()
    )
    by_pk = {u.pk: u for u in users}
    by_username = {u.username: u for u in users}

    def match(person):
        if not (person and person.id):
            return None
        for authority, user_id in registered.get(person.id, []):
            if authority in ("", person.authority):
                return by_pk.get(user_id)
        return by_username.get(person.id) or by_username.get(person.id.lower())

    return [match(p) for p in people]


def find_user(person):
    return find_users(person)[0]


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


def clinicians_for(order):
    """(flagging radiologist, ordering clinician or None) for one OBR."""
    interpreter, ordering = find_users(order.interpreter, order.ordering_provider)
    if interpreter is None or not interpreter.has_role(Role.RADIOLOGIST):
        interpreter = interface_user()
    return interpreter, ordering
