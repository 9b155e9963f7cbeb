"""Images forgotten by `apply --destroy` under Retain, declared again: re-adopted with their
shares read (nothing to share again) and a reason that says what happened (SPEC §3)."""

from __future__ import annotations

from pathlib import Path

from reconciler import app
from reconciler.cloudsim import CloudSim
from reconciler.model.plan import Action

from .conftest import copy_example
from .pipeline import apply, converge, make_plan, text


def test_forgotten_copies_are_readopted_with_their_shares(
    tmp_path: Path, runtime: app.Runtime, cloud_db: Path
) -> None:
    stack = copy_example("packer-distribution", tmp_path)
    sim = CloudSim(cloud_db)
    try:
        sim.add_image("ap-guangzhou", image_id="img-pkrdemo1", name="packer-web-20261101")
    finally:
        sim.close()
    converge(stack, runtime)
    destroy = make_plan(stack, runtime, destroy=True)
    assert {c.action for c in destroy.changes} == {Action.FORGET}
    apply(stack, runtime, destroy)

    again = make_plan(stack, runtime)
    reasons = {c.address: c.reason for c in again.changes if c.action is not Action.NOOP}
    assert reasons == {
        "image.packer-web": "adopting existing image img-pkrdemo1",
        "image.packer-web@ap-shanghai": "adopting an image this stack forgot earlier",
        "image.packer-web@ap-singapore": "adopting an image this stack forgot earlier",
    }, text(again)
    # Their shares stayed and were read: nothing is shared again, nobody is a new recipient.
    assert again.summary["share"] == 0, text(again)
    assert not any(c.new_recipient for c in again.changes)
    assert not any(s.operation == "ModifyImageSharePermission" for s in again.steps)
    converge(stack, runtime)
