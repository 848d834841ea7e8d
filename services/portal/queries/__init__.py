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
from services.portal.queries.common import NotFound, owned_certificate
from services.portal.queries.documents import Inbox, Preferences, inbox, owned_document, preferences
from services.portal.queries.profile import Profile, profile

__all__ = [
    "BenefitDetail",
    "BillingDetail",
    "CertificateDetail",
    "Inbox",
    "MyInsurance",
    "NotFound",
    "Preferences",
    "Profile",
    "benefit_detail",
    "billing_detail",
    "certificate_detail",
    "inbox",
    "my_insurance",
    "owned_certificate",
    "owned_document",
    "preferences",
    "profile",
]
