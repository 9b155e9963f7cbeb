"""The step DAG: API operations in the order the real API imposes (SPEC §4 ordering rules)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from itertools import zip_longest

from reconciler.model.observed import ImageState
from reconciler.model.plan import WAIT, JSONValue, Step, StepRef
from reconciler.planner.applied import binds_user_snapshots, ownership_keys
from reconciler.planner.work import Disposal, GroupWork, ImageWork, PlannedWork, Retirement

TAGS_PER_CALL = 10
"""ModifyResourceTags / UnTagResources take at most 10 tags (or keys) per call."""

ImageHandle = str | StepRef
"""A live image ID, or the output of the step that makes the image."""


def _chunks(items: list[object], size: int) -> list[list[object]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


class StepGraph:
    """Appends steps with ids `s1`, `s2`, ...; a step only depends on earlier ones (topological)."""

    def __init__(self) -> None:
        self.steps: list[Step] = []
        self._skipped_by: dict[str, frozenset[str]] = {}
        """Per step, the earlier steps whose failure skips it (always_run stops the chain)."""
        self._always_run: set[str] = set()

    def add(
        self,
        operation: str,
        address: str,
        region: str,
        params: Mapping[str, JSONValue],
        depends_on: Iterable[str | None] = (),
        *,
        service: str = "cvm",
        description: str = "",
        always_run: bool = False,
    ) -> str:
        step_id = f"s{len(self.steps) + 1}"
        direct = {d for d in depends_on if d}
        inherited = [self._skipped_by[d] for d in direct if d not in self._always_run]
        # Drop the edges other edges already imply (order and skip-on-failure alike).
        implied = frozenset().union(*inherited)
        deps = sorted(direct - implied, key=lambda d: int(d[1:]))
        self._skipped_by[step_id] = frozenset(direct) | implied
        if always_run:
            self._always_run.add(step_id)
        self.steps.append(
            Step(
                id=step_id,
                operation=operation,
                address=address,
                region=region,
                depends_on=tuple(deps),
                service=service,
                params=dict(params),
                description=description,
                always_run=always_run,
            )
        )
        return step_id

    def wait(
        self, address: str, region: str, image: ImageHandle, deps: Iterable[str | None]
    ) -> str:
        return self.add(
            WAIT,
            address,
            region,
            {"ImageId": image, "State": "NORMAL"},
            deps,
            description=f"wait for {_show(image)} to be NORMAL",
        )

    def tag(
        self,
        address: str,
        region: str,
        image: ImageHandle,
        replace: Mapping[str, str],
        delete: Iterable[str],
        *,
        deps: Iterable[str | None],
    ) -> list[str]:
        """ModifyResourceTags in calls of ≤ 10 tags; an empty list is omitted, as the API wants."""
        pairs: list[object] = [{"TagKey": k, "TagValue": replace[k]} for k in sorted(replace)]
        keys: list[object] = [{"TagKey": k} for k in sorted(delete)]
        deps = list(deps)
        ids = []
        chunk_pairs: Iterable[tuple[list[object], list[object]]] = zip_longest(
            _chunks(pairs, TAGS_PER_CALL), _chunks(keys, TAGS_PER_CALL), fillvalue=[]
        )
        for replace_chunk, delete_chunk in chunk_pairs:
            params: dict[str, JSONValue] = {"ImageId": image}
            if replace_chunk:
                params["ReplaceTags"] = replace_chunk
            if delete_chunk:
                params["DeleteTags"] = delete_chunk
            ids.append(
                self.add(
                    "ModifyResourceTags",
                    address,
                    region,
                    params,
                    deps,
                    service="tag",
                    description=f"tag {_show(image)}",
                )
            )
        return ids

    def share(
        self,
        address: str,
        region: str,
        image: ImageHandle,
        accounts: Iterable[str],
        permission: str,
        *,
        deps: Iterable[str | None],
        always_run: bool = False,
    ) -> str:
        accounts = sorted(accounts)
        verb = "share" if permission == "SHARE" else "cancel the share of"
        return self.add(
            "ModifyImageSharePermission",
            address,
            region,
            {"ImageId": image, "AccountIds": accounts, "Permission": permission},
            deps,
            description=f"{verb} {_show(image)} with {', '.join(accounts)}",
            always_run=always_run,
        )


def _show(image: ImageHandle) -> str:
    return image if isinstance(image, str) else f"the image of {image.step}"


def retire(graph: StepGraph, retirement: Retirement, deps: Iterable[str | None]) -> list[str]:
    """Forget (untag) or delete one image: wait if busy, cancel every share, delete, snapshots."""
    image = retirement.image
    address, region = retirement.address, image.region
    if retirement.disposal is Disposal.FORGET:
        keys: list[object] = list(ownership_keys(image.tags))
        return [
            graph.add(
                "UnTagResources",
                address,
                region,
                {"ImageId": image.image_id, "TagKeys": chunk},
                deps,
                service="tag",
                description=f"forget {image.image_id} (strip the reconciler:* tags)",
            )
            for chunk in _chunks(keys, TAGS_PER_CALL)
        ]
    if image.state is ImageState.DELETING:
        return []
    before: list[str | None] = list(deps)
    if image.state.busy:
        before = [graph.wait(address, region, image.image_id, before)]
    if image.shares:
        before = [graph.share(address, region, image.image_id, image.shares, "CANCEL", deps=before)]
    # DeleteBindedSnap removes the image's system-disk snapshot: never when the image is bound
    # to a snapshot of the user's (`source.snapshots`); its own snapshots go through CBS then.
    user = set(retirement.kept_snapshots)
    if binds_user_snapshots(image.tags):
        user |= {s.snapshot_id for s in image.snapshots}
    binds_user = binds_user_snapshots(image.tags) or any(
        s.snapshot_id in user for s in image.snapshots
    )
    delete = graph.add(
        "DeleteImages",
        address,
        region,
        {
            "ImageIds": [image.image_id],
            "DeleteBindedSnap": retirement.delete_snapshots and not binds_user,
        },
        before,
        description=f"delete {image.image_id} ({image.name})",
    )
    own_snapshots = sorted(
        s.snapshot_id
        for s in image.snapshots
        if s.snapshot_id not in user and (binds_user or s.disk_usage == "DATA_DISK")
    )
    if not (retirement.delete_snapshots and own_snapshots):
        return [delete]
    return [
        graph.add(
            "DeleteSnapshots",
            address,
            region,
            {"SnapshotIds": own_snapshots},
            [delete],
            service="cbs",
            description=f"delete the {'own' if binds_user else 'data-disk'} snapshots of "
            f"{image.image_id}",
        )
    ]


class _ImageSteps:
    """The steps of one image (home or copy) of a group, and the ids later steps hang on."""

    def __init__(self, graph: StepGraph, work: ImageWork) -> None:
        self.graph = graph
        self.work = work
        self.handle: ImageHandle = work.live.image_id if work.live is not None else ""
        self.normal: list[str | None] = []
        """Steps after which the image is NORMAL (empty: it is NORMAL now)."""
        self.initial_tags: list[str] = []
        self.cvm: list[str] = []
        """Every cvm step on this image (the final tags wait for them)."""

    def _add_cvm(self, step_id: str) -> str:
        self.cvm.append(step_id)
        return step_id

    def wait_if_busy(self) -> None:
        work = self.work
        if work.live is not None and work.live.state.busy and not self.normal:
            self.normal = [self.graph.wait(work.address, work.region, self.handle, [])]

    def made(self, step_id: str, handle: ImageHandle) -> None:
        """The image was just made by `step_id`: tag it at once, then wait for NORMAL."""
        work = self.work
        self.handle = handle
        self.initial_tags = self.graph.tag(
            work.address, work.region, handle, work.initial_tags, (), deps=[step_id]
        )
        self.normal = [self._add_cvm(self.graph.wait(work.address, work.region, handle, [step_id]))]

    def modify(self) -> list[str | None]:
        """Attribute changes (unshare → modify → re-share for a shared image); returns the tail:
        the steps after which the image has its new attributes (and its shares back)."""
        work, graph = self.work, self.graph
        if work.attributes and work.live is not None and work.live.shares:
            self.wait_if_busy()
            cancel = graph.share(
                work.address, work.region, self.handle, work.cancel, "CANCEL", deps=self.normal
            )
            modify = self._modify([cancel])
            self._add_cvm(cancel)
            if not work.reshare:
                return [modify]
            reshare = graph.share(
                work.address,
                work.region,
                self.handle,
                work.reshare,
                "SHARE",
                deps=[modify],
                always_run=True,
            )
            return [self._add_cvm(reshare)]
        tail: list[str | None] = list(self.normal)
        if work.attributes:
            self.wait_if_busy()
            tail = [self._modify(self.normal)]
        return tail

    def cancel(self) -> None:
        """Cancel the shares no longer wanted (outside the disruptive sequence of `modify`).

        It needs the image NORMAL and nothing else: other steps do not wait for it, except the
        final tags (and a deletion, which cancels every share itself)."""
        work = self.work
        if not work.cancel or (work.attributes and work.live is not None and work.live.shares):
            return
        self.wait_if_busy()
        self._add_cvm(
            self.graph.share(
                work.address, work.region, self.handle, work.cancel, "CANCEL", deps=self.normal
            )
        )

    def _modify(self, deps: list[str | None]) -> str:
        work = self.work
        params: dict[str, JSONValue] = {"ImageId": self.handle, **work.attributes}
        return self._add_cvm(
            self.graph.add(
                "ModifyImageAttribute",
                work.address,
                work.region,
                params,
                deps,
                description=f"set {', '.join(sorted(work.attributes))} of {_show(self.handle)}",
            )
        )

    def share(self, deps: list[str | None]) -> None:
        work = self.work
        if work.share:
            self.wait_if_busy()
            self._add_cvm(
                self.graph.share(
                    work.address,
                    work.region,
                    self.handle,
                    work.share,
                    "SHARE",
                    deps=[*self.normal, *deps],
                )
            )

    def final_tags(self, extra: Iterable[str]) -> list[str]:
        """Tags last, after everything on the image, so `reconciler:applied` tells the truth."""
        work = self.work
        if not (work.replace_tags or work.delete_tags):
            return []
        deps = [*self.initial_tags, *self.cvm, *extra]
        return self.graph.tag(
            work.address, work.region, self.handle, work.replace_tags, work.delete_tags, deps=deps
        )


def _group_steps(graph: StepGraph, group: GroupWork) -> None:
    first = len(graph.steps)
    home = group.home
    home_steps: _ImageSteps | None = None
    copy_region_steps: list[str] = []
    new_copies = [c for c in group.copies if c.is_new]
    if home is not None:
        home_steps = _ImageSteps(graph, home)
        cleared = [s for r in home.clear_first for s in retire(graph, r, [])]
        if home.make is not None:
            create = graph.add(
                home.make.operation,
                home.address,
                home.region,
                home.make.params,
                cleared,
                description=f"make {home.name} in {home.region}",
            )
            home_steps._add_cvm(create)
            home_steps.made(create, StepRef(create))
        tail = home_steps.modify()
        if new_copies and home.live is not None and home.live.state.busy:
            home_steps.wait_if_busy()
        if new_copies:
            cleared_copies = [
                s for c in new_copies for r in c.clear_first for s in retire(graph, r, [])
            ]
            regions = sorted(c.region for c in new_copies)
            sync = graph.add(
                "SyncImages",
                home.address,
                home.region,
                {
                    "ImageIds": [home_steps.handle],
                    "DestinationRegions": regions,
                    "ImageName": new_copies[0].name,
                    "ImageSetRequired": True,
                },
                [*home_steps.normal, *tail, *cleared_copies],
                description=f"copy {_show(home_steps.handle)} to {', '.join(regions)}",
            )
            home_steps._add_cvm(sync)
            # The source is SYNCING until the copies are made: later steps wait for NORMAL.
            home_steps.normal = [
                home_steps._add_cvm(
                    graph.wait(home.address, home.region, home_steps.handle, [sync])
                )
            ]
            tail = []
            for copy in new_copies:
                copy_steps = _ImageSteps(graph, copy)
                copy_steps.made(sync, StepRef(sync, f"ImageSet.{copy.region}"))
                copy_tail = copy_steps.modify()
                copy_steps.share(copy_tail)
                copy_region_steps += copy_steps.cvm + copy_steps.final_tags([])
        # A share change needs the image NORMAL, so unwanted shares are cancelled after the
        # copies are made (SyncImages leaves the source SYNCING): a copy never waits for them.
        home_steps.cancel()
        home_steps.share(tail)
    for copy in group.copies:
        if copy.is_new:
            continue
        copy_steps = _ImageSteps(graph, copy)
        copy_tail = copy_steps.modify()
        copy_steps.cancel()
        copy_steps.share(copy_tail)
        copy_steps.wait_if_busy()
        copy_region_steps += [*copy_steps.cvm, *filter(None, copy_steps.normal)]
        copy_region_steps += copy_steps.final_tags([])
    for removed in group.removed:
        copy_region_steps += retire(graph, removed, [])
    if home_steps is not None:
        # An image still CREATING/SYNCING/IMPORTING is waited for, never made again.
        home_steps.wait_if_busy()
        home_steps.final_tags(copy_region_steps)
    if group.deposed:
        # Create-before-destroy: the old generation goes once the new one is complete.
        made = graph.steps[first:]
        needed = {dep for step in made for dep in step.depends_on}
        sinks = [step.id for step in made if step.id not in needed]
        for retirement in group.deposed:
            retire(graph, retirement, sinks)


def build_steps(work: PlannedWork) -> tuple[Step, ...]:
    """Every step of the apply, ids in topological order."""
    graph = StepGraph()
    for group in work.groups:
        _group_steps(graph, group)
    for retirement in work.retirements:
        retire(graph, retirement, [])
    return tuple(graph.steps)
