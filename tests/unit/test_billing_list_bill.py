"""An employer's list-bill file: every row checked first, then all applied or none."""

from datetime import date
from decimal import Decimal

import pytest

from services.billing.application import BillingApplication
from services.billing.listbill import ListBillRejected
from tests.unit.test_billing_account import open_account, published

HEADER = "certificate_number,amount,transaction_date,apply_date,reference"
RECEIVED = date(2024, 12, 31)
ACCOUNTS = [f"{700000 + i:010d}" for i in range(100)]


def employer(numbers: list[str] = ACCOUNTS) -> BillingApplication:
    """100 monthly certificates at 10.00, effective 01/01/2020."""
    app = BillingApplication()
    for number in numbers:
        open_account(number=number, premium="10.00", effective=date(2020, 1, 1), app=app)
    return app


def file_of(*rows: str, header: str = HEADER) -> str:
    return "\n".join([header, *rows]) + "\n"


def thousand_rows() -> list[str]:
    """10 monthly payments for each of the 100 certificates, in 10 rounds."""
    return [
        f"{ACCOUNTS[row % 100]},10.00,2024-{row // 100 + 1:02d}-05,,LB-{row:04d}"
        for row in range(1000)
    ]


def recorded(app: BillingApplication) -> int:
    return app.recorder.max_notification_id() or 0


def refused(app: BillingApplication, text: str) -> ListBillRejected:
    before = recorded(app)
    with pytest.raises(ListBillRejected) as caught:
        app.import_list_bill(text, RECEIVED)
    assert recorded(app) == before, "nothing is recorded from a refused file"
    return caught.value


def test_a_thousand_rows_are_applied_in_one_transaction() -> None:
    app = employer()
    saves = []
    app.save_listeners.append(lambda: saves.append(1))
    result = app.import_list_bill(file_of(*thousand_rows()), RECEIVED)
    assert (result.applied, result.accounts) == (1000, 100)
    assert len(saves) == 1  # one save: all 2,000 events in one transaction
    # Each certificate got its 10 payments: paid to 11/01/2020, method List Bill.
    for number in (ACCOUNTS[0], ACCOUNTS[42], ACCOUNTS[99]):
        account = app.get_account(number)
        assert (account.paid_to_date, account.suspense) == (date(2020, 11, 1), Decimal("0.00"))
    received = [e for e in published(app, "PaymentReceived") if e.certificate_number == ACCOUNTS[7]]
    assert [e.payment_id for e in received] == [f"LB-{7 + 100 * k:04d}" for k in range(10)]
    assert {e.payment_method.value for e in received} == {"List Bill"}
    assert received[0].apply_date == received[0].transaction_date == date(2024, 1, 5)


def test_three_bad_rows_refuse_the_whole_file_then_the_fixed_file_is_accepted() -> None:
    app = employer()
    rows = thousand_rows()
    bad = list(rows)
    bad[15] = bad[15].replace("2024-01-05", "2024-13-05")  # line 17: not a calendar date
    bad[501] = bad[501].replace(",10.00,", ",-10.00,")  # line 503: negative amount
    bad[898] = "0000999999" + bad[898][10:]  # line 900: no such certificate
    rejection = refused(app, file_of(*bad))
    assert [(e.line, e.field) for e in rejection.errors] == [
        (17, "transaction_date"),
        (503, "amount"),
        (900, "certificate_number"),
    ]
    assert "nothing was recorded: 3 error(s) on 3 line(s)" in str(rejection)
    assert "2024-13-05 is not a calendar date" in rejection.errors[0].message
    assert "greater than zero" in rejection.errors[1].message
    assert rejection.errors[2].message == "no billing account for certificate 0000999999"
    # The corrected file goes through whole.
    assert app.import_list_bill(file_of(*rows), RECEIVED).applied == 1000


def test_every_kind_of_row_error_is_reported_with_its_line_and_field() -> None:
    app = employer(ACCOUNTS[:3])
    open_account(number="0000800000", status="Lapsed", app=app)
    app.record_payment(
        ACCOUNTS[0], amount=Decimal("10"), transaction_date=date(2024, 1, 1), payment_id="OLD-1"
    )
    a, b, c = ACCOUNTS[:3]
    text = file_of(
        f"{a},10.00,2024-02-01,,OK-1",  # 2: fine
        "12345678901,10.00,2024-02-01,,E-1",  # 3: not a certificate number
        f"{b},ten,2024-02-01,,E-2",  # 4: not an amount
        f"{b},10.001,2024-02-01,,E-3",  # 5: three decimal places
        f"{b},0,2024-02-01,,E-4",  # 6: zero
        f"{b},10.00,02/30/2024,,E-5",  # 7: no such day
        f"{b},10.00,2024-02-01,Feb 1,E-6",  # 8: not a date
        f"{a},10.00,2024-02-01,,OLD-1",  # 9: reference already recorded
        f"{c},10.00,2024-02-01,,OK-1",  # 10: reference repeats line 2
        "0000800000,10.00,2024-02-01,,E-7",  # 11: certificate lapsed
        f"{c},10.00,2025-01-01,,E-8",  # 12: after the file was received
        f"{c},10.00,2024-02-01",  # 13: missing fields
        f"{c},10.00,2024-02-01,,bad ref!",  # 14: reference characters
        f"{c},,,,",  # 15: all but the certificate missing
    )
    errors = [(e.line, e.field) for e in refused(app, text).errors]
    assert errors == [
        (3, "certificate_number"),
        (4, "amount"),
        (5, "amount"),
        (6, "amount"),
        (7, "transaction_date"),
        (8, "apply_date"),
        (9, "reference"),
        (10, "reference"),
        (11, "certificate_number"),
        (12, "transaction_date"),
        (13, "row"),
        (14, "reference"),
        (15, "amount"),
        (15, "transaction_date"),
        (15, "reference"),
    ]
    messages = {(e.line, e.field): e.message for e in refused(app, text).errors}
    assert messages[(10, "reference")] == "reference OK-1 repeats line 2"
    assert "is Lapsed (not in force)" in messages[(11, "certificate_number")]
    assert messages[(13, "row")] == "expected 5 fields, found 3"


def test_dates_in_either_format_optional_apply_date_blank_lines_and_a_bom() -> None:
    app = employer(ACCOUNTS[:2])
    a, b = ACCOUNTS[:2]
    text = "\ufeff" + file_of(
        f"{a},25.00,01/08/2024,12/31/2023,LB-1",
        "",
        f" {int(b)} , 10 ,2024-02-06, ,LB-2",
        header=" Certificate_Number , AMOUNT,transaction_date,apply_date,reference",
    ).replace("\n", "\r\n")
    assert app.import_list_bill(text, RECEIVED).applied == 2
    first, second = published(app, "PaymentReceived")
    assert (first.transaction_date, first.apply_date, first.amount) == (
        date(2024, 1, 8),
        date(2023, 12, 31),
        Decimal("25.00"),
    )
    assert (second.certificate_number, second.apply_date) == (b, date(2024, 2, 6))
    assert app.get_account(a).paid_to_date == date(2020, 3, 1)
    assert app.get_account(a).suspense == Decimal("5.00")
    # Without an apply_date column at all.
    text = file_of(f"{a},10.00,2024-03-01,LB-3", header=HEADER.replace(",apply_date", ""))
    assert app.import_list_bill(text, RECEIVED).applied == 1


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("certificate_number,amount,transaction_date,apply_date", "missing column(s) reference"),
        (HEADER + ",memo", "unknown column(s) memo"),
        (HEADER + ",amount", "repeated column(s) amount"),
        ("0000700000,10.00,2024-01-05,,LB-1", "unknown column(s) 0000700000"),
    ],
)
def test_a_bad_header_refuses_the_file_at_line_1(header: str, message: str) -> None:
    app = employer(ACCOUNTS[:1])
    rejection = refused(app, file_of(f"{ACCOUNTS[0]},10.00,2024-01-05,,LB-9", header=header))
    [error] = rejection.errors
    assert (error.line, error.field) == (1, "header")
    assert message in error.message
    assert "expected certificate_number,amount,transaction_date,apply_date,reference" in str(
        rejection
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the list bill is empty"),
        ("  \n\n", "the list bill is empty"),
        (HEADER + "\n\n", "a header but no payment rows"),
        ("\x89PNG\r\n\x1a\n\x00\x00", "not CSV text"),
    ],
)
def test_an_empty_or_binary_file_is_refused_whole(text: str, message: str) -> None:
    rejection = refused(employer(ACCOUNTS[:1]), text)
    assert message in str(rejection)
    assert rejection.errors[0].field == "file"
