"""OpenAPI: every operation documents the error body for the 4xx it can answer."""

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse

from .errors import ErrorSerializer

ERROR_CODES = {
    "400": "Bad input: `errors` names each field.",
    "401": "Not authenticated (token or session).",
    "403": "Not allowed for this user.",
    "404": "No such object, or not one this user may see.",
    "405": "Method not allowed.",
    "406": "Not acceptable.",
}
POST_ERROR_CODES = {
    "409": "A request with this Idempotency-Key is still being processed.",
    "415": "Unsupported media type.",
    "422": "This Idempotency-Key was used for a different request.",
}


class TrackerAutoSchema(AutoSchema):
    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        codes = dict(ERROR_CODES)
        if self.method == "POST":
            codes.update(POST_ERROR_CODES)
        for code, description in codes.items():
            if code not in responses:
                responses[code] = self._get_response_for_code(
                    OpenApiResponse(ErrorSerializer, description=description), code
                )
        return responses
