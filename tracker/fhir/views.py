"""FHIR R4 read and search (JSON) under /fhir/r4/. Same access rules as everywhere else."""

from django.core.paginator import Paginator
from django.urls import reverse
from rest_framework import exceptions
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import access
from ..audit.access import access_record
from ..models import CommunicationAttempt, Finding, Outcome, Status
from . import resources

MAX_COUNT = 100


class FHIRJSONRenderer(JSONRenderer):
    media_type = "application/fhir+json"
    format = "fhir"


def fhir_exception_handler(exc, context):
    from ..api.errors import to_drf

    exc = to_drf(exc)
    if not isinstance(exc, exceptions.APIException):
        return None
    code = {
        400: "invalid",
        401: "login",
        403: "forbidden",
        404: "not-found",
        405: "not-supported",
        406: "not-supported",
    }.get(exc.status_code, "processing")
    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    return Response(
        resources.operation_outcome(code, str(exc.detail)), status=exc.status_code, headers=headers
    )


class FHIRView(APIView):
    schema = None  # described by its CapabilityStatement (/fhir/r4/metadata), not OpenAPI
    renderer_classes = [FHIRJSONRenderer, JSONRenderer]

    def get_exception_handler(self):
        return fhir_exception_handler

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if response.accepted_renderer and response.accepted_renderer.format == "json":
            return response
        response["Content-Type"] = "application/fhir+json; fhirVersion=4.0"
        return response


class CapabilityStatementView(FHIRView):
    permission_classes = [AllowAny]
    authentication_classes = []

    def get(self, request):
        base = request.build_absolute_uri(reverse("fhir:metadata")).rsplit("/metadata", 1)[0]
        return Response(resources.capability_statement(base, "2026-11-23"))


class ResourceView(FHIRView):
    """One resource type: GET <Type>/<id> reads, GET <Type>?params searches."""

    resource_type = None

    def base_queryset(self):
        raise NotImplementedError

    def to_resource(self, obj):
        raise NotImplementedError

    def filter(self, queryset, name, value):
        raise NotImplementedError

    def get(self, request, pk=None):
        queryset = self.base_queryset()
        if pk is not None:
            obj = queryset.filter(pk=pk).first() if pk.isdigit() else None
            if obj is None:
                raise exceptions.NotFound(f"{self.resource_type}/{pk} is not known.")
            finding = getattr(obj, "finding", obj)  # a Communication is about its finding
            access_record(user=request.user, finding=finding, via=f"fhir: {self.resource_type}")
            return Response(self.to_resource(obj))
        for name in resources.SEARCH_PARAMS[self.resource_type]:
            value = request.query_params.get(name)
            if value:
                queryset = self.filter(queryset, name, value.split("|")[-1])
        return Response(self.bundle(request, queryset))

    def bundle(self, request, queryset):
        try:
            count = min(max(int(request.query_params.get("_count", 50)), 1), MAX_COUNT)
            page_number = max(int(request.query_params.get("page", 1)), 1)
        except ValueError as exc:
            raise exceptions.ValidationError("_count and page must be whole numbers.") from exc
        paginator = Paginator(queryset, count)
        page = paginator.get_page(page_number)
        base = request.build_absolute_uri(request.path)
        links = [{"relation": "self", "url": request.build_absolute_uri()}]
        if page.has_next() and page.number == page_number:
            params = request.query_params.copy()
            params["page"] = page.next_page_number()
            links.append({"relation": "next", "url": f"{base}?{params.urlencode()}"})
        entries = []
        if page_number <= paginator.num_pages:
            entries = [
                {
                    "fullUrl": f"{base.rstrip('/')}/{obj.pk}",
                    "resource": self.to_resource(obj),
                    "search": {"mode": "match"},
                }
                for obj in page.object_list
            ]
        bundle = {
            "resourceType": "Bundle",
            "type": "searchset",
            "total": paginator.count,
            "link": links,
        }
        if entries:
            bundle["entry"] = entries
        return bundle


def _finding_filter(prefix, queryset, name, value):
    if name == "_id":
        return queryset.filter(pk=value) if value.isdigit() else queryset.none()
    if name == "accession":
        return queryset.filter(**{f"{prefix}exam__accession_number": value})
    if name == "patient-identifier":
        return queryset.filter(**{f"{prefix}exam__patient__identifier": value})
    if name == "owner":
        return queryset.filter(**{f"{prefix}responsible_clinician__username": value})
    return queryset


class CommunicationView(ResourceView):
    resource_type = "Communication"

    def base_queryset(self):
        findings = access.visible_findings(self.request.user, Finding.objects.all())
        return (
            CommunicationAttempt.objects.filter(finding__in=findings)
            .select_related("finding__exam__patient", "caller", "contacted_user")
            .order_by("attempted_at", "pk")
        )

    def to_resource(self, obj):
        return resources.communication(obj)

    def filter(self, queryset, name, value):
        if name == "_id":
            return queryset.filter(pk=value) if value.isdigit() else queryset.none()
        if name == "status":
            reached = [*resources.REACHED, Outcome.VOICEMAIL]
            if value == "completed":
                return queryset.filter(outcome__in=reached)
            if value == "not-done":
                return queryset.exclude(outcome__in=reached)
            return queryset.none()
        return _finding_filter("finding__", queryset, name, value)


class FindingResourceView(ResourceView):
    def base_queryset(self):
        queryset = Finding.objects.select_related(
            "exam__patient", "flagged_by", "responsible_clinician", "acknowledgement"
        ).order_by("flagged_at", "pk")
        return access.visible_findings(self.request.user, queryset)


class TaskView(FindingResourceView):
    resource_type = "Task"

    def to_resource(self, obj):
        return resources.task(obj)

    def filter(self, queryset, name, value):
        if name == "status":
            statuses = [s for s, fhir in resources.TASK_STATUS.items() if fhir == value]
            return queryset.filter(status__in=statuses)
        return _finding_filter("", queryset, name, value)


class FlagView(FindingResourceView):
    resource_type = "Flag"

    def to_resource(self, obj):
        return resources.flag(obj)

    def filter(self, queryset, name, value):
        if name == "status":
            if value == "active":
                return queryset.open()
            if value == "entered-in-error":
                return queryset.filter(status=Status.ENTERED_IN_ERROR)
            if value == "inactive":
                return queryset.exclude(status__in=[*resources.OPEN_STATUSES, "entered_in_error"])
            return queryset.none()
        return _finding_filter("", queryset, name, value)
