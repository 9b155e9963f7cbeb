"""Addresses (`image.x`, `image.x@r`, `share.x@r:acct`) and the `--target` scope."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from reconciler.model.desired import DesiredState
from reconciler.planner.ownership import Ownership

_IMAGE = re.compile(r"^image\.(?P<name>[a-z0-9-]+)(?:@(?P<region>[a-z0-9-]+))?$")
_SHARE = re.compile(r"^share\.(?P<name>[a-z0-9-]+)@(?P<region>[a-z0-9-]+):(?P<account>\d+)$")


def home_address(name: str) -> str:
    return f"image.{name}"


def copy_address(name: str, region: str) -> str:
    return f"image.{name}@{region}"


def share_address(name: str, region: str, account: str) -> str:
    return f"share.{name}@{region}:{account}"


@dataclass(frozen=True, slots=True)
class Address:
    """A parsed address: `region` is None for a home image; `account` is set for a share."""

    name: str
    region: str | None = None
    account: str | None = None

    @property
    def is_share(self) -> bool:
        return self.account is not None

    @property
    def home(self) -> str:
        return home_address(self.name)


def parse_address(text: str) -> Address | None:
    """None when the text is not an address."""
    if match := _IMAGE.match(text):
        return Address(match["name"], match["region"])
    if match := _SHARE.match(text):
        return Address(match["name"], match["region"], match["account"])
    return None


def _home_region(name: str, desired: DesiredState, ownership: Ownership) -> str | None:
    for image in desired.images:
        if image.name == name:
            return image.region
    owned = ownership.at(home_address(name))
    return owned[0].region if owned else None


def known_addresses(desired: DesiredState, ownership: Ownership) -> set[str]:
    """Every address the manifests declare or the cloud holds for this stack."""
    known = {image.address for image in desired.images}
    known |= {copy.address for copy in desired.copies}
    known |= {share.address for share in desired.shares}
    for address, images in ownership.by_address.items():
        known.add(address)
        parsed = parse_address(address)
        if parsed is None:
            continue
        for image in images:
            known |= {share_address(parsed.name, image.region, a) for a in image.shares or ()}
    return known


def target_scope(
    targets: Iterable[str], desired: DesiredState, ownership: Ownership
) -> tuple[frozenset[str] | None, list[str]]:
    """The addresses a `--target` plan may touch (None: all) and errors for unknown targets.

    A copy needs its home image; a declared share needs its image in that region (and that
    image's home); a share no longer declared needs nothing (it is only cancelled).
    """
    wanted = tuple(targets)
    if not wanted:
        return None, []
    known = known_addresses(desired, ownership)
    declared_shares = {share.address for share in desired.shares}
    scope: set[str] = set()
    errors: list[str] = []
    for target in wanted:
        parsed = parse_address(target)
        if parsed is None or target not in known:
            errors.append(f"--target {target}: no such address in the manifests or the cloud")
            continue
        scope.add(target)
        if parsed.is_share and target not in declared_shares:
            continue  # an unshare needs nothing else: only that share is cancelled
        scope.add(parsed.home)
        if parsed.is_share and parsed.region != _home_region(parsed.name, desired, ownership):
            scope.add(copy_address(parsed.name, str(parsed.region)))
    return frozenset(scope), errors


def in_scope(scope: frozenset[str] | None, address: str) -> bool:
    return scope is None or address in scope
