"""The billing service's refusals (the HTTP API maps them to 404 / 409 / 422)."""

from __future__ import annotations


class PaymentRejected(ValueError):
    """A payment this account cannot take (422)."""


class DuplicatePayment(PaymentRejected):
    """The same payment id (bank or employer reference) recorded twice (409)."""


class CertificateNotInForce(PaymentRejected):
    """A payment on a lapsed, surrendered, declined, not taken or withdrawn certificate (422)."""


class PaymentNotFound(LookupError):
    """A reversal of a payment the account never received (404)."""


class PaymentAlreadyReversed(ValueError):
    """A second reversal of the same payment (409)."""


class NotBillable(ValueError):
    """Billing a certificate whose premiums are not expected (e.g. Lapsed, Reduced Paid Up)."""


class AccountNotFound(LookupError):
    """No billing account for that certificate (404)."""
