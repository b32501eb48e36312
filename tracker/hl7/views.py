"""HL7 v2 over HTTP: POST the message (ER7 text) and get its ACK back, as from MLLP.

For interface accounts with the `tracker.submit_hl7` permission (token or session). The ACK's
MSA-1 says whether it was accepted; the HTTP status is 200 whenever an ACK was produced.
"""

from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework.parsers import BaseParser
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.views import APIView

from ..models import InboundMessage
from . import ingest

CONTENT_TYPE = "x-application/hl7-v2+er7"


class AnyBodyParser(BaseParser):
    """Accept any content type: the view reads the raw body itself."""

    media_type = "*/*"

    def parse(self, stream, media_type=None, parser_context=None):
        return {}


class CanSubmitHL7(BasePermission):
    message = "This account may not submit HL7 messages (needs tracker.submit_hl7)."

    def has_permission(self, request, view):
        return request.user.has_perm("tracker.submit_hl7")


@extend_schema(exclude=True)  # ER7, not JSON: documented in README rather than OpenAPI
class HL7MessageView(APIView):
    parser_classes = [AnyBodyParser]
    permission_classes = [IsAuthenticated, CanSubmitHL7]

    def post(self, request):
        message = ingest.receive(request.body, entry_point=InboundMessage.EntryPoint.HTTP)
        return HttpResponse(
            message.ack.encode("utf-8"), content_type=f"{CONTENT_TYPE}; charset=utf-8"
        )
