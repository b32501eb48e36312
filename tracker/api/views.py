"""REST API v1: thin views over tracker.services and tracker.access.

Reads go through access.visible_findings (a finding the user may not see is a 404); every write
is one service call, which checks permission and validates. Errors: see errors.py.
"""

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action, api_view, permission_classes
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from .. import access
from ..audit.access import access_record
from ..models import Finding
from ..services import findings as finding_services
from .filters import FindingFilter
from .idempotency import HEADER, idempotent
from .serializers import (
    AcknowledgementSerializer,
    AcknowledgeSerializer,
    AttemptCreateSerializer,
    AttemptSerializer,
    CloseRequestSerializer,
    FindingCreateSerializer,
    FindingDetailSerializer,
    FindingSerializer,
    HandOverRequestSerializer,
    HandoverSerializer,
    ReasonSerializer,
    RecategoriseSerializer,
    RouteSerializer,
)

IDEMPOTENCY_PARAMETER = OpenApiParameter(
    HEADER,
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    description="Any unique string (e.g. a UUID). A retry with the same key returns the first "
    "response and records nothing new.",
)


@extend_schema_view(
    list=extend_schema(summary="List findings visible to you, with filters"),
    retrieve=extend_schema(summary="One finding with attempts, hand-overs and its timeline"),
)
class FindingViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    filter_backends = [DjangoFilterBackend]
    filterset_class = FindingFilter
    lookup_value_regex = "[^/]+"  # anything not a finding id is a JSON 404, not an HTML page

    def get_queryset(self):
        queryset = Finding.objects.for_worklist().order_by("contact_due_at", "flagged_at", "pk")
        if self.action == "retrieve":
            queryset = queryset.prefetch_related(
                "attempts__caller", "attempts__contacted_user", "handovers__made_by"
            )
        return access.visible_findings(self.request.user, queryset)

    def get_serializer_class(self):
        return FindingDetailSerializer if self.action == "retrieve" else FindingSerializer

    def retrieve(self, request, *args, **kwargs):
        finding = self.get_object()
        access_record(user=request.user, finding=finding, via="api: finding detail")
        return Response(self.get_serializer(finding).data)

    def _detail(self, finding, status_code=status.HTTP_200_OK):
        finding = self.get_queryset().filter(pk=finding.pk).first() or finding
        data = FindingDetailSerializer(finding, context=self.get_serializer_context()).data
        return Response(data, status=status_code)

    @extend_schema(
        summary="Flag a finding (registering or updating the exam and patient if given)",
        request=FindingCreateSerializer,
        responses={201: FindingDetailSerializer},
        parameters=[IDEMPOTENCY_PARAMETER],
    )
    @idempotent
    def create(self, request):
        serializer = FindingCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        exam = data.get("exam")
        finding = finding_services.result_flag(
            actor=request.user,
            accession_number=data["accession_number"],
            category=data["category"],
            description=data["description"],
            patient=exam.pop("patient") if exam else None,
            exam=exam,
            responsible_clinician=data.get("responsible_clinician"),
            confirm_second_open=data["confirm_second_open"],
            submission_key=request.submission_key,
        )
        return self._detail(finding, status.HTTP_201_CREATED)

    @extend_schema(
        summary="Log a call or message attempt (a read-back communicates the finding)",
        request=AttemptCreateSerializer,
        responses={201: AttemptSerializer},
        parameters=[IDEMPOTENCY_PARAMETER],
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def attempts(self, request, pk=None):
        return self._act(
            request, AttemptCreateSerializer, finding_services.attempt_log, AttemptSerializer
        )

    @extend_schema(
        summary="Acknowledge a communicated finding, with the action planned",
        request=AcknowledgeSerializer,
        responses={201: AcknowledgementSerializer},
        parameters=[IDEMPOTENCY_PARAMETER],
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def acknowledge(self, request, pk=None):
        return self._act(
            request,
            AcknowledgeSerializer,
            finding_services.finding_acknowledge,
            AcknowledgementSerializer,
        )

    @extend_schema(
        summary="Hand the finding over to a named colleague, with a reason",
        request=HandOverRequestSerializer,
        responses={201: HandoverSerializer},
        parameters=[IDEMPOTENCY_PARAMETER],
    )
    @action(detail=True, methods=["post"], url_path="hand-over")
    @idempotent
    def hand_over(self, request, pk=None):
        return self._act(
            request,
            HandOverRequestSerializer,
            finding_services.finding_hand_over,
            HandoverSerializer,
        )

    def _change(self, request, input_serializer, service):
        """A correction: one service call with a reason; answers the finding as it is now."""
        finding = self.get_object()
        serializer = input_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        service(actor=request.user, finding=finding, **serializer.validated_data)
        return self._detail(finding)

    @extend_schema(
        summary="Cancel a finding (flagged by mistake, duplicate), with a reason",
        request=ReasonSerializer,
        responses={200: FindingDetailSerializer},
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        return self._change(request, ReasonSerializer, finding_services.finding_cancel)

    @extend_schema(
        summary="Mark a finding entered in error (wrong patient or exam), with a reason",
        request=ReasonSerializer,
        responses={200: FindingDetailSerializer},
    )
    @action(detail=True, methods=["post"], url_path="entered-in-error")
    def entered_in_error(self, request, pk=None):
        return self._change(
            request, ReasonSerializer, finding_services.finding_mark_entered_in_error
        )

    @extend_schema(
        summary="Change the category, with a reason (deadline recomputed from the flag time; a "
        "contact that does not qualify for the new category re-opens contact)",
        request=RecategoriseSerializer,
        responses={200: FindingDetailSerializer},
    )
    @action(detail=True, methods=["post"])
    def recategorise(self, request, pk=None):
        return self._change(request, RecategoriseSerializer, finding_services.finding_recategorise)

    @extend_schema(
        summary="Close an acknowledged finding (the planned action is done)",
        request=CloseRequestSerializer,
        responses={200: FindingDetailSerializer},
    )
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        return self._change(request, CloseRequestSerializer, finding_services.finding_close)

    @extend_schema(
        summary="Decline ('not my patient'): the finding returns, unrouted, to the radiologist",
        request=ReasonSerializer,
        responses={201: HandoverSerializer},
        parameters=[IDEMPOTENCY_PARAMETER],
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def decline(self, request, pk=None):
        return self._act(
            request, ReasonSerializer, finding_services.finding_decline, HandoverSerializer
        )

    @extend_schema(
        summary="Route an unrouted finding to the accountable referring clinician",
        request=RouteSerializer,
        responses={201: HandoverSerializer},
        parameters=[IDEMPOTENCY_PARAMETER],
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def route(self, request, pk=None):
        return self._act(
            request, RouteSerializer, finding_services.finding_route, HandoverSerializer
        )

    def _act(self, request, input_serializer, service, output_serializer):
        """One service call on a finding the user may see (else 404); the service checks the
        permission and validates."""
        finding = self.get_object()
        serializer = input_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        result = service(
            actor=request.user,
            finding=finding,
            submission_key=request.submission_key,
            **serializer.validated_data,
        )
        return Response(output_serializer(result).data, status=status.HTTP_201_CREATED)


@extend_schema(exclude=True)
@api_view(["GET", "POST", "PUT", "PATCH", "DELETE"])
@permission_classes([AllowAny])
def not_found(request, *args, **kwargs):
    """Any other path under /api/v1/: the same JSON error body as everything else."""
    raise NotFound()
