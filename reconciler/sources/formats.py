"""Who wrote a reservation calendar, and what each event's words say about a stay.

Every channel says "a guest stays here" in its own words, and whether a door code is made
follows from them, so each reading is written down here, apart from the times (ical.py):

    airbnb    `Reserved` (no name; the reservation code and the phone's last 4 digits are in
              DESCRIPTION), `Airbnb (Not available)` for a block
    vrbo      `Reserved - Jane Doe`, `Blocked`; in the guest's language on some of its sites
              (`Réservé - Marie Dupont`, `Bloqué`)
    booking   `CLOSED - Not available` for a booking and a block alike: a stay only when the
              source says so (`closed_are_stays`)
    hosttool  Guesty, Hostaway, Hospitable, OwnerRez, Smoobu, Lodgify...: `Reservation 12345`,
              `Jane Doe - Airbnb - 4 guests - HMABC12345`, `Jane Doe (Airbnb)`, and helper
              events (Cleaning, Check-in, Owner stay) that are not stays
    generic   anything else: an event whose summary is not a block or a helper is a stay

The vendor only picks defaults (where a guest's name is looked for); the words of each
summary decide. Words are compared without case or accents: `RÉSERVÉ`, `Réservé` and
`reserve` read alike.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

NAME_LIMIT = 60
"""Characters kept of a guest's name: a code's name on a lock is short, a summary may not be."""

_DASHES = str.maketrans({"–": "-", "—": "-", "‐": "-", "‑": "-", "−": "-"})
_SEPARATOR = re.compile(r"\s+[-–—|/]\s+|\s*:\s+|\s*[()\[\]]\s*")

# Said of a booked stay, first word of the summary (folded: no accents, no case).
_RESERVED = frozenset(
    {
        "reserved",
        "booked",
        "reserve",  # Réservé, and Reservé typed without its accents
        "reservee",
        "reservado",  # Spanish, Portuguese
        "reservada",
        "reserviert",
        "gebucht",
        "prenotato",
        "prenotata",
        "gereserveerd",
    }
)
_BLOCK = re.compile(
    r"^(?:blocked|block|bloquee?|bloqueado|bloqueada|blockiert|gesperrt|bloccat[oa]"
    r"|geblokkeerd|not available|unavailable|no disponible|non disponible|indisponible"
    r"|nicht verfugbar|non disponibile|niet beschikbaar|indisponivel|closed"
    r"|owner(?:'s)?(?: (?:stay|block|use|hold|reservation))?|on hold|hold)\b"
)
_HELPER = re.compile(
    r"^(?:check ?-? ?in|check ?-? ?out|cleaning|clean-?up|turn ?-? ?over|maintenance"
    r"|housekeeping|inspection|repairs?)\b"
)
_CLOSED = re.compile(r"^closed ?- ?not available$")
_AIRBNB_BLOCK = "airbnb (not available)"
# A channel's name in a host tool's summary says where the booking came from, not who stays.
_CHANNELS = frozenset(
    {
        "airbnb",
        "vrbo",
        "homeaway",
        "abritel",
        "booking",
        "booking.com",
        "expedia",
        "direct",
        "direct booking",
        "website",
        "manual",
        "tripadvisor",
        "google",
    }
)
_HOST_TOOLS = (
    "guesty",
    "hostaway",
    "hospitable",
    "ownerrez",
    "owner rez",
    "smoobu",
    "lodgify",
    "hostfully",
    "beds24",
    "uplisting",
    "tokeet",
    "avantio",
    "kigo",
    "escapia",
    "lodgix",
    "hostex",
    "hostify",
    "cloudbeds",
    "rentals united",
    "igms",
    "hosttools",
    "host tools",
    "bookingsync",
    "smily",
    "superhote",
    "zeevou",
    "eviivo",
    "octorate",
    "avaibook",
)
_VRBO_FAMILY = ("homeaway", "vrbo", "abritel", "fewo-direkt", "stayz", "bookabach")

_AIRBNB_URL = re.compile(r"/reservations/details/([A-Z0-9]{6,})", re.IGNORECASE)
_AIRBNB_CODE = re.compile(r"\bHM[A-Z0-9]{8}\b")
_PHONE = re.compile(r"Phone Number \(Last 4 Digits\):\s*(\d{4})\b", re.IGNORECASE)
_NUMBERED = re.compile(
    r"^(?:reservation|reservierung|reserva|reservering|booking|buchung|boeking|prenotazione)"
    r"\s*(?:#|no\.?|nr\.?|n°|number|id)?\s*[:#]?\s*#?([A-Za-z0-9-]*\d[A-Za-z0-9-]*)$",
    re.IGNORECASE,
)
_LABELLED = re.compile(
    r"\b(?:reservation|confirmation|booking)(?:\s+(?:code|id|number|no\.?|#))?\s*[:#]\s*#?"
    r"([A-Za-z0-9][A-Za-z0-9-]{3,})",
    re.IGNORECASE,
)
_CODE_PART = re.compile(r"^#?([A-Z0-9][A-Z0-9-]{3,})$")
_NAME = re.compile(r"^[^\W\d_]+(?:[ .'’-]+[^\W\d_]+)*\.?$")


@dataclass(frozen=True)
class Verdict:
    """What one event's words say: a stay and what it tells of the guest, or why it is not.

    `reason` is None for a stay; otherwise it says why the event is not one, in words a host
    reads in the skipped list ("a block (Blocked), not a stay").
    """

    reason: str | None = None
    reservation: str | None = None
    guest: str | None = None
    phone_last4: str | None = None


def fold(text: str) -> str:
    """`text` without accents, case, repeated spaces or dash variants: words compare alike."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_DASHES))
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(bare.casefold().split())


def detect_vendor(prodid: str, summaries: Iterable[str], uids: Iterable[str]) -> str:
    """`airbnb`, `vrbo`, `booking`, `hosttool` or `generic`: who wrote the calendar.

    PRODID names the writer on every channel's export; when it does not (a proxy, a
    re-export), the events' own UIDs and words do.
    """
    product = fold(prodid)
    if "airbnb" in product:
        return "airbnb"
    if any(name in product for name in _VRBO_FAMILY):
        return "vrbo"
    if "booking.com" in product:
        return "booking"
    if any(name in product for name in _HOST_TOOLS):
        return "hosttool"
    return _vendor_from_events([fold(s) for s in summaries], [u.casefold() for u in uids])


def _vendor_from_events(summaries: list[str], uids: list[str]) -> str:
    """The vendor told by the events when PRODID does not tell it."""
    if _AIRBNB_BLOCK in summaries or any(u.endswith("@airbnb.com") for u in uids):
        return "airbnb"
    if any(_CLOSED.match(s) for s in summaries) or any(u.endswith("@booking.com") for u in uids):
        return "booking"
    pieces = [parts(s) for s in summaries]
    if any(len(p) > 1 and p[0] in _RESERVED for p in pieces):
        return "vrbo"
    if any(_NUMBERED.match(s) or len(p) > 2 for s, p in zip(summaries, pieces, strict=True)):
        return "hosttool"
    return "generic"


def parts(summary: str) -> list[str]:
    """The pieces of a summary between its separators (' - ', ' – ', ': ', ' | ', brackets)."""
    return [p.strip() for p in _SEPARATOR.split(summary) if p.strip()]


def classify(summary: str, description: str, *, vendor: str, closed_are_stays: bool) -> Verdict:
    """What the event's summary (and description) say: a stay, a block, a helper event.

    The checks run from the most particular words to the least: Airbnb's and Booking.com's
    fixed phrases, a reserved-word head (`Reserved - Jane Doe`), a block or a helper head
    (`Blocked`, `Cleaning`), then anything else is a stay.
    """
    text = " ".join(summary.split())
    folded = fold(text)
    if not folded:
        return Verdict(reason="no SUMMARY: nothing says it is a stay")
    if folded == _AIRBNB_BLOCK:
        return Verdict(reason=f"a block ({text}), not a stay")
    if _CLOSED.match(folded):
        return _closed(closed_are_stays)
    pieces = parts(text)
    at = _head(pieces)
    reservation = _reservation(text, description, pieces)
    phone = _phone(description)
    head = fold(pieces[at]) if at is not None else ""
    if head in _RESERVED:
        rest = pieces[at + 1] if at is not None and at + 1 < len(pieces) else ""
        return Verdict(reservation=reservation, guest=clean_name(rest), phone_last4=phone)
    if _BLOCK.match(head):
        return Verdict(reason=f"a block ({text}), not a stay")
    if _HELPER.match(head):
        return Verdict(reason=f"a helper event ({text}), not a stay")
    guest = _generic_guest(text) if vendor == "generic" else _tool_guest(pieces, at)
    return Verdict(reservation=reservation, guest=guest, phone_last4=phone)


def _closed(closed_are_stays: bool) -> Verdict:
    """Booking.com's `CLOSED - Not available`: a stay only when the source says they are."""
    if closed_are_stays:
        return Verdict()
    return Verdict(
        reason="Booking.com's CLOSED - Not available marks bookings and blocks alike: "
        "a stay only when the source sets closed_are_stays"
    )


def _head(pieces: list[str]) -> int | None:
    """Index of the first piece that is not a channel's name (`Airbnb - Blocked`)."""
    for index, piece in enumerate(pieces):
        if fold(piece) not in _CHANNELS:
            return index
    return None


def _reservation(summary: str, description: str, pieces: list[str]) -> str | None:
    """The reservation code the event gives, the most telling place first.

    Airbnb's reservation URL, an Airbnb code (HM + 8) anywhere, a host tool's numbered
    summary (`Reservation #12345`), a labelled code in DESCRIPTION (`Confirmation code:
    ABC123`), then a code-shaped piece of the summary (`... - HMABC12345`, `... - #4521`).
    """
    url = _AIRBNB_URL.search(description)
    if url:
        return url.group(1)
    code = _AIRBNB_CODE.search(summary) or _AIRBNB_CODE.search(description)
    if code:
        return code.group(0)
    for piece in [summary, *pieces]:
        numbered = _NUMBERED.match(piece)
        if numbered:
            return numbered.group(1)
    labelled = _LABELLED.search(description)
    if labelled:
        return labelled.group(1)
    for piece in pieces[1:]:
        shaped = _CODE_PART.match(piece)
        if shaped and any(c.isdigit() for c in shaped.group(1)):
            return shaped.group(1)
    return None


def _phone(description: str) -> str | None:
    """Airbnb's `Phone Number (Last 4 Digits): 1234`, the digits only."""
    found = _PHONE.search(description)
    return found.group(1) if found else None


def clean_name(text: str) -> str | None:
    """A guest's name trimmed, its spaces made single, cut at 60 characters; None if empty."""
    name = " ".join(text.split())[:NAME_LIMIT].strip()
    return name or None


def looks_like_name(text: str) -> bool:
    """Letters and spaces (and the `.'-` of `J. O'Brien-Smith`), at most 60 characters."""
    return len(text) <= NAME_LIMIT and bool(_NAME.match(text))


def _generic_guest(summary: str) -> str | None:
    """A generic calendar's guest: the whole summary, if it reads as a name."""
    return summary if looks_like_name(summary) else None


def _tool_guest(pieces: list[str], at: int | None) -> str | None:
    """A host tool's guest: the first piece from the head on that reads as a name.

    `Jane Doe - Airbnb - 4 guests - HMABC12345` and `Jane Doe (Airbnb)` give Jane Doe;
    `HMABC12345 - Jane Doe` too; `Reservation 12345` gives no one.
    """
    if at is None:
        return None
    for piece in pieces[at:]:
        if fold(piece) not in _CHANNELS and looks_like_name(piece):
            return clean_name(piece)
    return None
