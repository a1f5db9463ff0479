"""HTTP endpoints for the postal-code reference table."""

from fastapi import APIRouter

from services.assignment.postal_codes import service
from services.assignment.postal_codes.schemas import PostalCodeRead
from shared.auth import ReadPrincipal
from shared.db import SessionDep
from shared.errors import problem_doc
from shared.validation import Text

router = APIRouter(prefix="/assignment/postal-codes", tags=["postal codes"])


@router.get(
    "/{country}/{code}",
    operation_id="postal_codes.get",
    responses={404: problem_doc("The table does not know this code")},
)
async def get_postal_code(
    country: Text, code: Text, session: SessionDep, principal: ReadPrincipal
) -> PostalCodeRead:
    """Look up a postal code's centroid (US ZIP+4 and lower case are accepted)."""
    return await service.get_postal_code(session, country=country, code=code)
