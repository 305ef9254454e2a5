"""Background work for accounts: the daily lifecycle sweep."""

import logging

from celery import shared_task

from accounts.lifecycle import lifecycle_sweep

logger = logging.getLogger(__name__)


@shared_task(time_limit=3600)
def lifecycle_sweep_daily() -> dict:
    """Expire, deactivate idle and delete old leaver accounts (the rules are in accounts.lifecycle)."""
    report = lifecycle_sweep()
    logger.info(
        "lifecycle sweep %s: %d expired, %d inactive, %d deleted",
        report.on,
        len(report.expired),
        len(report.inactive),
        len(report.deleted),
    )
    return {"expired": len(report.expired), "inactive": len(report.inactive), "deleted": len(report.deleted)}
