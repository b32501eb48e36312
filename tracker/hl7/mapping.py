"""From HL7 values to the tracker's: category, modality and clinicians. Site-configurable."""

import time

from django.conf import settings
from django.db.models import F, Q
from django.db.models.signals import post_delete, post_save

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


# The clinicians recent messages named, for HL7_CLINICIAN_CACHE_SECONDS: a burst of messages
# (a RIS replaying its queue after an outage) names the same few clinicians again and again, and
# this lookup was the most expensive statement of an ingested message. Only complete answers are
# kept (every named person found), so a clinician registered a moment ago is found at once; a
# change to a clinician, an identifier or a department made in another process (the admin site)
# is seen within that many seconds, one made in this process at once (the signals below).
_recent = {}  # who was asked for -> (monotonic expiry, users)
_RECENT_MAX = 1000


def forget_recent_clinicians(**kwargs):
    _recent.clear()


def _asked_for(people):
    return tuple((p.id, p.authority) if p and p.id else None for p in people)


def find_users(*people):
    """The clinicians other systems name (None where unknown): from the recent answers, or in
    one query."""
    seconds = settings.HL7_CLINICIAN_CACHE_SECONDS
    if seconds <= 0:
        return _find_users(people)
    key = _asked_for(people)
    kept = _recent.get(key)
    if kept is not None and kept[0] > time.monotonic():
        return list(kept[1])
    users = _find_users(people)
    if all(user is not None for user, asked in zip(users, key, strict=True) if asked):
        if len(_recent) >= _RECENT_MAX:
            _recent.clear()
        _recent[key] = (time.monotonic() + seconds, tuple(users))
    return users


def _find_users(people):
    """The clinicians other systems name (None where unknown), in one query.

    A registered provider id wins over a username equal to the id (as sent, or lower-cased): first
    one registered for the id's assigning authority, then one registered with none (any).
    """
    ids = {p.id for p in people if p and p.id}
    if not ids:
        return [None for _ in people]
    usernames = ids | {i.lower() for i in ids}
    # Users named by username or holding one of the ids; a row per identifier the user holds
    # (one row with none if they hold none). .order_by(): sorting would only cost planning time.
    rows = (
        User.objects.filter(Q(username__in=usernames) | Q(provider_identifiers__value__in=ids))
        .select_related("department")
        .annotate(
            id_value=F("provider_identifiers__value"),
            id_authority=F("provider_identifiers__assigning_authority"),
        )
        .order_by()
    )
    registered = {}  # (value, authority) -> user
    by_username = {}
    for user in rows:
        if user.id_value in ids:
            registered[(user.id_value, user.id_authority)] = user
        by_username[user.username] = user

    def match(person):
        if not (person and person.id):
            return None
        for authority in (person.authority, ""):
            if (person.id, authority) in registered:
                return registered[(person.id, authority)]
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


for _model in (User, ProviderIdentifier, Department):
    _uid = f"hl7-recent-clinicians-{_model._meta.label_lower}"
    post_save.connect(forget_recent_clinicians, sender=_model, dispatch_uid=_uid)
    post_delete.connect(forget_recent_clinicians, sender=_model, dispatch_uid=_uid)
