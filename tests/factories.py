import factory
from django.utils import timezone

from tracker.models import Department, Exam, Modality, Patient, Role, User


class DepartmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Department
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"dept-{n}")
    name = factory.Sequence(lambda n: f"Department {n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    title = "Dr"
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.invalid")
    role = Role.REFERRER
    department = factory.SubFactory(DepartmentFactory)
    password = factory.django.Password("correct-horse-battery")


class RadiologistFactory(UserFactory):
    role = Role.RADIOLOGIST
    grade = "Consultant Radiologist"
    department = factory.SubFactory(DepartmentFactory, code="radiology", name="Radiology")


class ReferrerFactory(UserFactory):
    role = Role.REFERRER
    grade = "FY2"
    department = factory.SubFactory(DepartmentFactory, code="surgery", name="Surgery")
    phone = "01632 960 201"
    bleep = "3201"


class GovernanceFactory(UserFactory):
    role = Role.GOVERNANCE
    department = None


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patient

    identifier = factory.Sequence(lambda n: f"MRN{n:07d}")
    family_name = factory.Faker("last_name")
    given_name = factory.Faker("first_name")


class ExamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Exam

    accession_number = factory.Sequence(lambda n: f"ACC{n:06d}")
    patient = factory.SubFactory(PatientFactory)
    modality = Modality.CT
    body_part = "Chest"
    performed_at = factory.LazyFunction(timezone.now)
    ordering_clinician = factory.SubFactory(ReferrerFactory)
