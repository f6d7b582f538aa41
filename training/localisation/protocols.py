"""The three training protocols of the paper's Table 2 and the generator each one borrows images from."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Protocol:
    name: str  # as typed on the command line
    title: str  # as printed in Table 2
    synthetic_source: str | None  # the manifest ``source`` whose rows are added; None: real images only


PROTOCOLS: dict[str, Protocol] = {
    p.name: p
    for p in (
        Protocol("ori", "Ori", None),
        Protocol("ori+pix2pix", "Ori+Pix2Pix", "Pix2Pix"),
        Protocol("ori+pix2pix-n", "Ori+Pix2Pix-N", "Pix2Pix-N"),
    )
}


def get_protocol(name: str) -> Protocol:
    try:
        return PROTOCOLS[name.lower()]
    except KeyError:
        raise ValueError(f"unknown protocol {name!r}; choose one of {', '.join(PROTOCOLS)}") from None


def protocol_order(name: str) -> int:
    """Table 2's column order: Ori, then Ori+Pix2Pix, then Ori+Pix2Pix-N."""
    return list(PROTOCOLS).index(name)
