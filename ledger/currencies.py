"""ISO 4217 currency codes and how many decimals Stripe's API counts for each.

Kept as data in code, not fetched: the list changes a few times a decade and a
ledger must not change meaning because a download did.
"""

from __future__ import annotations


def _codes(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Active ISO 4217 currencies (list one), lower case as Stripe spells them. Left out on
# purpose: precious metals, bond units, SDR, testing (XTS) and no-currency (XXX) codes,
# and the fund codes (BOV, CHE, CHW, CLF, COU, MXV, USN, UYI, UYW) - none can be charged.
# Withdrawn and therefore absent: ANG (-> XCG, 2025), BGN (-> EUR, 2026), HRK, SLL, ZWL.
ISO_4217_CURRENCIES: frozenset[str] = _codes(
    """
    aed afn all amd aoa ars aud awg azn bam bbd bdt bhd bif bmd bnd bob brl bsd btn bwp
    byn bzd cad cdf chf clp cny cop crc cup cve czk djf dkk dop dzd egp ern etb eur fjd
    fkp gbp gel ghs gip gmd gnf gtq gyd hkd hnl htg huf idr ils inr iqd irr isk jmd jod
    jpy kes kgs khr kmf kpw krw kwd kyd kzt lak lbp lkr lrd lsl lyd mad mdl mga mkd mmk
    mnt mop mru mur mvr mwk mxn myr mzn nad ngn nio nok npr nzd omr pab pen pgk php pkr
    pln pyg qar ron rsd rub rwf sar sbd scr sdg sek sgd shp sle sos srd ssp stn svc syp
    szl thb tjs tmt tnd top try ttd twd tzs uah ugx usd uyu uzs ved ves vnd vuv wst xaf
    xcd xcg xof xpf yer zar zmw zwg
    """
)

# Stripe's zero-decimal currencies: amounts are given in the major unit.
ZERO_DECIMAL_CURRENCIES: frozenset[str] = _codes(
    "bif clp djf gnf jpy kmf krw mga pyg rwf ugx vnd vuv xaf xof xpf"
)

# ISO 4217 currencies with three decimals (Stripe takes BHD, JOD, KWD, OMR and TND so).
THREE_DECIMAL_CURRENCIES: frozenset[str] = _codes("bhd iqd jod kwd lyd omr tnd")


def minor_unit_exponent(currency: str) -> int:
    """Decimals of the integer amounts we store and send to Stripe for ``currency``.

    This is Stripe's convention, which is ISO's except for MGA (zero-decimal at Stripe)
    and ISK (two decimals at Stripe although ISO says none): money must mean the same
    here as on the Stripe request it came from.
    """
    code = currency.lower()
    if code not in ISO_4217_CURRENCIES:
        raise KeyError(currency)
    if code in ZERO_DECIMAL_CURRENCIES:
        return 0
    if code in THREE_DECIMAL_CURRENCIES:
        return 3
    return 2
