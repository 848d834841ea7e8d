"""Read-only queries over the read models; the API and the pages both call these."""

from services.portal.queries.billing import BillingDetail, billing_detail
from services.portal.queries.certificates import (
    BenefitDetail,
    CertificateDetail,
    MyInsurance,
    benefit_detail,
    certificate_detail,
    my_insurance,
)
from services.portal.queries.claims import ClaimDetail, ClaimInquiry, claim_detail, claim_inquiry
from services.portal.queries.common import NotFound, owned_certificate
from services.portal.queries.documents import Inbox, Preferences, inbox, owned_document, preferences
from services.portal.queries.profile import Profile, profile

__all__ = [
    "BenefitDetail",
    "BillingDetail",
    "CertificateDetail",
    "ClaimDetail",
    "ClaimInquiry",
    "Inbox",
    "MyInsurance",
    "NotFound",
    "Preferences",
    "Profile",
    "benefit_detail",
    "billing_detail",
    "certificate_detail",
    "claim_detail",
    "claim_inquiry",
    "inbox",
    "my_insurance",
    "owned_certificate",
    "owned_document",
    "preferences",
    "profile",
]
