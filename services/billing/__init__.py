"""The billing service: one billing account per certificate — premiums, payments, paid-to."""
