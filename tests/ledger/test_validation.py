"""Bad input is a typed error and records nothing."""

from __future__ import annotations

import pytest

from ledger import Ledger, LedgerError, LedgerValidationError
from tests.support.ledger_bad_inputs import BAD_INPUTS, Target
from tests.support.ledger_factories import accepted_booking, position


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_bad_input_is_refused_and_records_nothing(ledger: Ledger, name: str) -> None:
    case, error = BAD_INPUTS[name]
    target = Target(*accepted_booking(ledger))
    before = position(ledger)
    with pytest.raises(error) as raised:
        case(ledger, target)
    assert isinstance(raised.value, LedgerValidationError)
    assert isinstance(raised.value, ValueError)  # callers may treat it as one
    assert position(ledger) == before


def test_every_ledger_error_has_a_stable_code() -> None:
    import ledger.errors as errors

    classes = [
        obj
        for obj in vars(errors).values()
        if isinstance(obj, type) and issubclass(obj, LedgerError)
    ]
    codes = {cls.code for cls in classes}
    assert len(codes) == len(classes) == 10
    assert all(code.isidentifier() and code.islower() for code in codes)
