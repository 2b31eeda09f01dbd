"""Value decoders: turn one raw SNMP value into text a profile cannot describe with scale/offset/map.

A profile names one on a source (``decode: gpon_serial``). A decoder returns None when the value is
not what it expects (the field or tag is then absent, never a made-up value).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Final

from collectors.model import SnmpValue

ValueDecoder = Callable[[SnmpValue], str | None]


def gpon_serial(value: SnmpValue) -> str | None:
    """A GPON ONU serial (8 bytes: 4 vendor-ID bytes + 4 vendor-specific) as ``HWTC1234ABCD``.

    Some agents render the serial as text already (``HWTC1234ABCD`` or ``48575443...`` in hex): both
    are accepted.

    >>> gpon_serial(b"HWTC\\x12\\x34\\xab\\xcd")
    'HWTC1234ABCD'
    """
    if isinstance(value, bytes) and len(value) == 8:
        vendor = value[:4]
        if all(0x20 < b < 0x7F for b in vendor):
            return vendor.decode("ascii") + value[4:].hex().upper()
        return None
    text = value.decode("ascii", "replace") if isinstance(value, bytes) else str(value)
    text = text.strip().replace(" ", "").replace(":", "").replace("-", "")
    if len(text) == 16:
        try:
            return gpon_serial(bytes.fromhex(text))
        except ValueError:
            return None
    if len(text) == 12 and text[:4].isalnum() and all(c in "0123456789abcdefABCDEF" for c in text[4:]):
        return text[:4] + text[4:].upper()
    return None


VALUE_DECODERS: Final[Mapping[str, ValueDecoder]] = MappingProxyType({"gpon_serial": gpon_serial})
"""Value decoders by the name a profile's ``decode:`` gives."""
