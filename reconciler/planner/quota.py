"""The quota check: the account's images per region during the apply fit DescribeImageQuota."""

from __future__ import annotations

from collections import Counter

from reconciler.model.observed import ObservedCloud
from reconciler.planner.work import PlannedWork


def quota_errors(observed: ObservedCloud, work: PlannedWork) -> list[str]:
    """One error per region whose peak image count would exceed its quota.

    The peak counts every image there now plus every image this apply makes: old generations
    are deleted only after their replacements exist (create-before-destroy), and other
    deletions may run after the creates. Failed images deleted before their re-create are the
    one exception, since their delete precedes the create.
    """
    now = Counter(image.region for image in observed.images)
    made: Counter[str] = Counter()
    cleared: Counter[str] = Counter()
    for group in work.groups:
        for image in (group.home, *group.copies):
            if image is not None and image.is_new:
                made[image.region] += 1
                cleared[image.region] += len(image.clear_first)
    errors = []
    for region in sorted(made):
        quota = observed.quotas.get(region)
        if quota is None:
            continue
        peak = now[region] - cleared[region] + made[region]
        if peak > quota:
            errors.append(
                f"quota: {region} would hold {peak} custom images during the apply "
                f"({now[region]} now, {made[region]} to make, old generations kept until "
                f"their replacements exist) but DescribeImageQuota allows {quota}; delete "
                "unused images or ask Tencent Cloud for a higher quota"
            )
    return errors
