"""The policy service: certificates (products, statuses, premium terms, owner party)."""
