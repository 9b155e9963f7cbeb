"""Resource ID formats (`img-`, `snap-`, `ins-`, `disk-` + 8 of [0-9a-z]) and their generation."""

from __future__ import annotations

import random
import re
import string

ID_ALPHABET = string.digits + string.ascii_lowercase
IMAGE_ID = re.compile(r"^img-[0-9a-z]{8}$")
SNAPSHOT_ID = re.compile(r"^snap-[0-9a-z]{8}$")
INSTANCE_ID = re.compile(r"^ins-[0-9a-z]{8}$")
DISK_ID = re.compile(r"^disk-[0-9a-z]{8}$")
UIN = re.compile(r"^\d{5,13}$")


def new_id(prefix: str, rng: random.Random) -> str:
    """A fresh ID such as `img-k3x9q0ab` drawn from the (seeded) generator."""
    return prefix + "-" + "".join(rng.choice(ID_ALPHABET) for _ in range(8))
