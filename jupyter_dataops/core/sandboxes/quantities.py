"""Kubernetes quantities: the one spelling of sizes and CPUs everywhere (profiles, policy,
requests, the UI), so a profile means the same on this machine and on a cluster.

>>> parse_memory("32Gi")
34359738368
>>> parse_cpus("500m")
0.5
>>> parse_memory("32GB")
Traceback (most recent call last):
...
jupyter_dataops.core.errors.InvalidInput: memory '32GB' is not a Kubernetes quantity: ...

Anything else is refused, with the spelling that was probably meant.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation

from ..errors import InvalidInput

BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
DECIMAL = {
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "": Decimal(1),
    "k": Decimal("1e3"),
    "M": Decimal("1e6"),
    "G": Decimal("1e9"),
    "T": Decimal("1e12"),
    "P": Decimal("1e15"),
    "E": Decimal("1e18"),
}
_QUANTITY = re.compile(
    r"^(?P<number>[+-]?(?:\d+(?:\.\d*)?|\.\d+))"
    r"(?P<suffix>Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d+)?$"
)
#: Everyday spellings of sizes, and the quantity suffixes they probably mean.
_LIKELY = {
    "kb": ("k", "Ki"),
    "k": ("k", "Ki"),
    "mb": ("M", "Mi"),
    "m": ("M", "Mi"),
    "gb": ("G", "Gi"),
    "g": ("G", "Gi"),
    "tb": ("T", "Ti"),
    "t": ("T", "Ti"),
    "pb": ("P", "Pi"),
    "kib": ("Ki",),
    "ki": ("Ki",),
    "mib": ("Mi",),
    "mi": ("Mi",),
    "gib": ("Gi",),
    "gi": ("Gi",),
    "tib": ("Ti",),
    "ti": ("Ti",),
    "b": ("",),
    "bytes": ("",),
}


def _decimal(text: str) -> Decimal:
    match = _QUANTITY.match(text)
    if match is None:
        raise ValueError(text)
    number = Decimal(match["number"])
    suffix = match["suffix"] or ""
    if suffix in BINARY:
        return number * BINARY[suffix]
    if suffix[:1] in ("e", "E"):
        return number * (Decimal(10) ** int(suffix[1:]))
    return number * DECIMAL[suffix]


def _suggestion(text: str) -> str:
    """What a size that is not a quantity probably meant ("32GB" -> "32G or 32Gi")."""
    match = re.match(r"^\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+))\s*([A-Za-z]*)\s*$", text)
    if match is None:
        return "a number with a suffix, such as 512Mi, 32Gi or 1.5G"
    number, unit = match.groups()
    options = _LIKELY.get(unit.lower())
    if options is None:
        return "a number with a suffix, such as 512Mi, 32Gi or 1.5G"
    spelled = [f"{number}{suffix}" for suffix in options]
    if len(spelled) == 2:
        return f"{spelled[0]} ({number}×10^{_power(options[0])} bytes) or {spelled[1]} ({number}×2^{_power(options[1])} bytes)"
    return spelled[0]


def _power(suffix: str) -> int:
    if suffix in BINARY:
        return int(math.log2(BINARY[suffix]))
    return int(DECIMAL[suffix].adjusted())


def _amount(value: str | int | float, field: str, noun: str, hint: str) -> tuple[Decimal, str]:
    """The number a quantity stands for, and its text (InvalidInput when it is none)."""
    if isinstance(value, bool):
        raise InvalidInput(f"{field} {value!r} is not {noun}.", hint=hint)
    if isinstance(value, int | float):
        return Decimal(str(value)), str(value)
    text = str(value).strip()
    try:
        return _decimal(text), text
    except (ValueError, InvalidOperation):
        raise InvalidInput(
            f"{field} {value!r} is not a Kubernetes quantity of {noun}.", hint=hint
        ) from None


def parse_memory(value: str | int | float, *, field: str = "memory") -> int:
    """Bytes from a quantity (``"32Gi"``, ``"1.5G"``, ``"512Mi"``, ``1073741824``)."""
    try:
        amount, text = _amount(value, field, "bytes", "Give a size such as 32Gi.")
    except InvalidInput:
        if isinstance(value, bool):
            raise
        raise InvalidInput(
            f"{field} {value!r} is not a Kubernetes quantity: sizes are written like 32Gi "
            "(2^30 bytes each) or 32G (10^9 bytes each).",
            hint=f"Did you mean {_suggestion(str(value).strip())}?",
        ) from None
    match = _QUANTITY.match(text)
    if match and (match["suffix"] or "") in ("m", "u", "n"):
        raise InvalidInput(
            f"{field} {value!r} is in thousandths of a byte ({match['suffix']!r} is milli).",
            hint=f"Did you mean {match['number']}M or {match['number']}Mi?",
        )
    if amount <= 0:
        raise InvalidInput(
            f"{field} {value!r} must be more than zero.", hint="Give a size such as 4Gi."
        )
    if amount > Decimal(2**63 - 1):
        raise InvalidInput(f"{field} {value!r} is absurdly large.", hint="Give a size such as 4Gi.")
    return int(amount.to_integral_value(rounding="ROUND_CEILING"))


def parse_cpus(value: str | int | float, *, field: str = "cpus") -> float:
    """CPUs from a quantity (``"2"``, ``"500m"``, ``1.5``)."""
    amount, _ = _amount(
        value, field, "CPUs", "Write whole or fractional CPUs (2, 1.5) or thousandths (500m)."
    )
    if not amount.is_finite() or amount <= 0:
        raise InvalidInput(
            f"{field} {value!r} must be more than zero.", hint="Give e.g. 1 or 500m."
        )
    if amount > 1_000_000:
        raise InvalidInput(f"{field} {value!r} is absurdly large.", hint="Give e.g. 4.")
    if amount < Decimal("0.001"):
        raise InvalidInput(
            f"{field} {value!r} is less than one thousandth of a CPU (Kubernetes' smallest).",
            hint="Give at least 1m.",
        )
    return float(amount)


def format_memory(num_bytes: int | float | None) -> str:
    """In the largest binary unit it reaches: exact when it divides (``34359738368`` ->
    ``"32Gi"``), else to one decimal (``25276514304`` -> ``"23.5Gi"``)."""
    if num_bytes is None:
        return "-"
    value = int(num_bytes)
    for suffix in ("Ei", "Pi", "Ti", "Gi", "Mi", "Ki"):
        unit = BINARY[suffix]
        if value >= unit:
            if value % unit == 0:
                return f"{value // unit}{suffix}"
            return f"{value / unit:.1f}{suffix}"
    return str(value)


def format_cpus(cpus: float | None) -> str:
    """``0.5`` -> ``"500m"``, ``2.0`` -> ``"2"``."""
    if cpus is None:
        return "-"
    if float(cpus).is_integer():
        return str(int(cpus))
    milli = round(cpus * 1000)
    return f"{milli}m"
