"""Resource ID formats (`img-`, `snap-`, `ins-`, `disk-` + 8 of [0-9a-z]) and their generation.

The patterns are ASCII-only and meant for `fullmatch` (`$` would also accept a trailing newline
and `\\d` any Unicode digit); use `is_image_id(...)` and friends.
"""

from __future__ import annotations

import random
import re
import string

ID_ALPHABET = string.digits + string.ascii_lowercase
IMAGE_ID = re.compile(r"img-[0-9a-z]{8}")
SNAPSHOT_ID = re.compile(r"snap-[0-9a-z]{8}")
INSTANCE_ID = re.compile(r"ins-[0-9a-z]{8}")
UIN = re.compile(r"[0-9]{5,13}")


def is_image_id(text: str) -> bool:
    """Whether `text` is exactly `img-` + 8 of [0-9a-z]."""
    return IMAGE_ID.fullmatch(text) is not None


def is_snapshot_id(text: str) -> bool:
    """Whether `text` is exactly `snap-` + 8 of [0-9a-z]."""
    return SNAPSHOT_ID.fullmatch(text) is not None


def is_instance_id(text: str) -> bool:
    """Whether `text` is exactly `ins-` + 8 of [0-9a-z]."""
    return INSTANCE_ID.fullmatch(text) is not None


def is_uin(text: str) -> bool:
    """Whether `text` is an account ID: exactly 5 to 13 ASCII digits."""
    return UIN.fullmatch(text) is not None


def new_id(prefix: str, rng: random.Random) -> str:
    """A fresh ID such as `img-k3x9q0ab` drawn from the (seeded) generator."""
    return prefix + "-" + "".join(rng.choice(ID_ALPHABET) for _ in range(8))
