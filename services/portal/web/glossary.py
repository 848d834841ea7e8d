# ruff: noqa: E501 — definitions are quoted from the portal guide, one per line
"""The glossary of the portal guide: certificate statuses and claim terms."""

from __future__ import annotations

SYSTEM_STATUSES: list[tuple[str, str]] = [
    (
        "Active Awaiting Premium",
        "Application for coverage was accepted and initial premium is pending receipt.",
    ),
    ("Active Premium Paying", "Premiums are being collected for the certificate."),
    (
        "Cash Surrender",
        "Certificate no longer inforce. Certificate owner chose to surrender the certificate.",
    ),
    ("Declined", "Application for coverage was rejected."),
    (
        "Issue – Not Paid",
        "New Business status meaning it has been issued but not settled and moved Inforce.",
    ),
    (
        "Inforce – Extended Term",
        "Inforce certificate with premiums no longer being paid. Coverage amount based on cash value.",
    ),
    ("Lapsed", "Certificate is no longer inforce due to non-payment of premium."),
    ("Not Taken", "Certificate owner decided to not accept the certificate."),
    ("Pending", "Application has been entered into admin system."),
    (
        "Reduced Paid Up",
        "Inforce certificate with premiums no longer being paid. The cash value bought a smaller, fully paid-up amount of coverage.",
    ),
    ("Withdrawn", "Certificate owner has withdrawn request for coverage."),
]

CLAIM_TERMS: list[tuple[str, str]] = [
    (
        "Amount Claimed",
        "Amount of benefits submitted for claim processing. Amount may not match total amount paid if benefits were denied or not covered due to plan coverage.",
    ),
    ("Amount Excluded", "Amount of benefits denied."),
    ("Benefit Amount", "Amount payable for the benefit line."),
    ("Date of Service", "Service date for the benefit being claimed."),
    (
        "Decision Rendered",
        "Final claim processing is complete and claim is issued. If claim is payable, an EOB/check will be mailed & a copy posted to portal. If claim benefits are denied or not covered, claim denial letter will be mailed & copy posted to portal.",
    ),
    (
        "Denied Benefits",
        "Decision was made to deny benefits due to insufficient supporting documentation, plan limitations, exhausted benefits, or other decision.",
    ),
    ("Not Covered", "Benefits that are not eligible under plan design."),
    (
        "Paid to",
        "All claims are payable to member and this details who the claim was made payable to and where it was mailed.",
    ),
    ("Pending", "Claim has been received and currently under review."),
    (
        "Review Complete",
        "Claim Review is complete and claim benefits have been determined if payable or denied.",
    ),
    ("Status and Status Date", "Current status of claim and last activity date of claim status."),
    ("Total Amount Paid", "Benefits payable to member."),
    ("Type of Service", "Benefit Type being claimed."),
]
