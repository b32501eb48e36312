"""Demo logins and a realistic day of findings, relative to now. Safe to run again."""

import json
from datetime import date, timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from tracker import clock
from tracker.models import Department, Exam, User
from tracker.services import exams as exam_services
from tracker.services import findings as finding_services

DEMO_PASSWORD = "demo-tracker-2026"  # noqa: S105 - demo mode only, printed and in README
PEOPLE_FILE = settings.BASE_DIR / "fixtures" / "demo_people.json"

# (accession, patient, modality, body part, referrer, category, description, flagged minutes ago,
#  events as (minutes after flagging, action, details))
DAY = [
    (
        "DEMO-1001",
        0,
        "CT",
        "Chest",
        "referrer",
        "critical",
        "Large right tension pneumothorax with mediastinal shift.",
        20,
        [],
    ),
    (
        "DEMO-1002",
        1,
        "CT",
        "Head",
        "referrer2",
        "critical",
        "Acute left subdural haematoma, 9 mm, with midline shift.",
        45,
        [(5, "attempt", {"channel": "phone", "outcome": "no_answer", "to": "referrer2"})],
    ),
    (
        "DEMO-1003",
        2,
        "CT",
        "Aorta",
        "referrer",
        "critical",
        "Type A aortic dissection extending to the arch.",
        80,
        [
            (4, "attempt", {"channel": "bleep", "outcome": "no_answer", "to": "referrer"}),
            (25, "attempt", {"channel": "phone", "outcome": "voicemail", "to": "referrer"}),
        ],
    ),
    (
        "DEMO-1004",
        3,
        "CT",
        "Abdomen",
        "referrer",
        "critical",
        "Free intraperitoneal gas in keeping with perforation.",
        180,
        [
            (38, "attempt", {"channel": "phone", "outcome": "read_back", "to": "referrer"}),
            (55, "ack", {"planned_action": "admitted", "by": "referrer"}),
        ],
    ),
    (
        "DEMO-1005",
        4,
        "CT",
        "Pulmonary angiogram",
        "referrer2",
        "critical",
        "Saddle pulmonary embolus with right heart strain.",
        300,
        [
            (30, "attempt", {"channel": "phone", "outcome": "no_answer", "to": "referrer2"}),
            (
                75,
                "attempt",
                {
                    "channel": "phone",
                    "outcome": "read_back",
                    "to": "referrer2",
                    "breach_reason": "referrer_unreachable",
                },
            ),
            (90, "ack", {"planned_action": "treatment_started", "by": "referrer2"}),
            (200, "close", {"by": "referrer2"}),
        ],
    ),
    (
        "DEMO-1006",
        5,
        "MR",
        "Lumbar spine",
        "referrer",
        "significant",
        "Vertebral lesion suspicious for metastasis at L3.",
        120,
        [],
    ),
    (
        "DEMO-1007",
        6,
        "XR",
        "Chest",
        "gp",
        "significant",
        "New 3 cm right upper lobe mass.",
        26 * 60,
        [(60, "attempt", {"channel": "phone", "outcome": "no_answer", "to": "gp"})],
    ),
    (
        "DEMO-1008",
        7,
        "US",
        "Abdomen",
        "referrer",
        "significant",
        "Incidental 4.5 cm abdominal aortic aneurysm.",
        600,
        [
            (
                90,
                "attempt",
                {"channel": "secure_message", "outcome": "reached_no_read_back", "to": "referrer"},
            )
        ],
    ),
    (
        "DEMO-1009",
        0,
        "CT",
        "Chest",
        "gp",
        "significant",
        "Spiculated 14 mm nodule, Lung-RADS 4B.",
        30 * 60,
        [(180, "attempt", {"channel": "phone", "outcome": "read_back", "to": "gp"})],
    ),
    (
        "DEMO-1010",
        1,
        "XR",
        "Wrist",
        "referrer2",
        "routine",
        "Healing distal radius fracture in satisfactory position.",
        240,
        [],
    ),
    (
        "DEMO-1011",
        2,
        "US",
        "Thyroid",
        "gp",
        "routine",
        "TI-RADS 2 nodule; no follow-up needed.",
        26 * 60,
        [
            (120, "attempt", {"channel": "email", "outcome": "reached_no_read_back", "to": "gp"}),
            (300, "ack", {"planned_action": "already_actioned", "by": "gp"}),
            (320, "close", {"by": "gp"}),
        ],
    ),
    (
        "DEMO-1012",
        3,
        "CT",
        "Chest",
        "referrer",
        "critical",
        "Pneumothorax (duplicate of DEMO-1001).",
        18,
        [(2, "cancel", {"reason": "Duplicate: flagged twice for the same study."})],
    ),
    (
        "DEMO-1013",
        4,
        "MR",
        "Brain",
        "referrer2",
        "significant",
        "Flagged on the wrong patient's study.",
        400,
        [(10, "entered_in_error", {"reason": "Wrong patient selected; re-flagged correctly."})],
    ),
    (
        "DEMO-1014",
        5,
        "CT",
        "Abdomen",
        "referrer2",
        "critical",
        "Small bowel obstruction with closed loop and ischaemia.",
        15,
        [(6, "decline", {"by": "referrer2", "reason": "Not my patient: transferred to surgery."})],
    ),
    (
        # From the RIS with an ordering code nobody has mapped: accepted, unrouted.
        "DEMO-1016",
        1,
        "XR",
        "Chest",
        None,
        "critical",
        "Left tension pneumothorax. Ordering clinician not known (ED locum code).",
        8,
        [],
    ),
    (
        "DEMO-1015",
        6,
        "MR",
        "Pelvis",
        "referrer",
        "significant",
        "Suspected cauda equina compression.",
        200,
        [
            (
                30,
                "handover",
                {"by": "referrer", "to": "cover", "reason": "End of shift; Dr Taylor on call."},
            )
        ],
    ),
]


class Command(BaseCommand):
    help = "Create the demo logins and a realistic day of findings (demo mode only)."

    def handle(self, *args, **options):
        if not settings.DEMO_MODE:
            raise CommandError("seed_demo runs in demo mode only (DEMO_MODE=true).")
        people = json.loads(PEOPLE_FILE.read_text())
        with transaction.atomic():
            users = self._people(people)
            created = self._day(people, users)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data ready ({created} new findings). Logins, password "
                f"'{DEMO_PASSWORD}': radiologist, referrer, governance, admin "
                "(also radiologist2, referrer2, cover, gp, surgery-lead)."
            )
        )

    def _people(self, people):
        departments = {}
        for row in people["departments"]:
            departments[row["code"]], _ = Department.objects.get_or_create(
                code=row["code"], defaults={"name": row["name"]}
            )
        users = {}
        for row in people["users"]:
            row = dict(row)
            username = row.pop("username")
            lead_of = row.pop("lead_of", None)
            cover = row.pop("covering_colleague", None)
            dept = row.pop("department", None)
            user = User.objects.filter(username=username).first() or User(username=username)
            wanted = {
                **row,
                "department": departments.get(dept),
                "email": f"{username}@demo.invalid",
                "covering_colleague": users.get(cover),
            }
            changed = user.pk is None or any(getattr(user, f) != v for f, v in wanted.items())
            for field, value in wanted.items():
                setattr(user, field, value)
            if not user.check_password(DEMO_PASSWORD):
                user.set_password(DEMO_PASSWORD)
                changed = True
            if changed:  # a re-run leaves no new history rows
                user._change_reason = "Demo data"
                user.save()
            users[username] = user
            if lead_of and departments[lead_of].lead_id != user.pk:
                departments[lead_of].lead = user
                departments[lead_of].save()
        return users

    def _day(self, people, users):
        system = users["admin"]
        radiologist = users["radiologist"]
        start = clock.now()
        created = 0
        for accession, p, modality, part, referrer, category, text, ago, events in DAY:
            if Exam.objects.filter(accession_number=accession, findings__isnull=False).exists():
                continue
            flagged_at = start - timedelta(minutes=ago)
            row = people["patients"][p]
            with clock.replay_at(flagged_at - timedelta(minutes=30)):
                patient = exam_services.patient_register(
                    actor=system,
                    **{**row, "date_of_birth": date.fromisoformat(row["date_of_birth"])},
                )
                exam = exam_services.exam_register(
                    actor=system,
                    accession_number=accession,
                    patient=patient,
                    modality=modality,
                    body_part=part,
                    performed_at=flagged_at - timedelta(minutes=30),
                    ordering_clinician=users.get(referrer),
                    referring_department=users[referrer].department if referrer else None,
                )
            with clock.replay_at(flagged_at):
                finding = finding_services.finding_flag(
                    actor=radiologist,
                    accession_number=exam.accession_number,
                    category=category,
                    description=text,
                )
            for minutes, action, details in events:
                with clock.replay_at(flagged_at + timedelta(minutes=minutes)):
                    self._event(finding, action, details, users)
            created += 1
        return created

    def _event(self, finding, action, d, users):
        s = finding_services
        radiologist = users["radiologist"]
        if action == "attempt":
            s.attempt_log(
                actor=radiologist,
                finding=finding,
                channel=d["channel"],
                outcome=d["outcome"],
                contacted_user=users[d["to"]],
                breach_reason=d.get("breach_reason", ""),
            )
        elif action == "ack":
            s.finding_acknowledge(
                actor=users[d["by"]], finding=finding, planned_action=d["planned_action"]
            )
        elif action == "close":
            s.finding_close(actor=users[d["by"]], finding=finding)
        elif action == "cancel":
            s.finding_cancel(actor=radiologist, finding=finding, reason=d["reason"])
        elif action == "entered_in_error":
            s.finding_mark_entered_in_error(actor=radiologist, finding=finding, reason=d["reason"])
        elif action == "decline":
            s.finding_decline(actor=users[d["by"]], finding=finding, reason=d["reason"])
        elif action == "handover":
            s.finding_hand_over(
                actor=users[d["by"]],
                finding=finding,
                to_clinician=users[d["to"]],
                reason=d["reason"],
            )
        else:
            raise CommandError(f"Unknown demo event {action!r}")
