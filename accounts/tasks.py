"""Background work for accounts: the account-creation queue and the daily lifecycle sweep."""

import logging

from celery import shared_task
from django.db import OperationalError

from accounts.lifecycle import lifecycle_sweep
from accounts.services import account_request_fail, account_request_fulfil

logger = logging.getLogger(__name__)


@shared_task(bind=True, max_retries=5, acks_late=True, time_limit=60, soft_time_limit=50)
def account_request_process(self, request_id: int) -> None:
    """Create the account a queued AccountRequest asks for (a retry after a crash does nothing twice)."""
    try:
        account_request_fulfil(request_id=request_id)
    except OperationalError as exc:
        if self.request.retries >= self.max_retries:
            account_request_fail(request_id=request_id)
            raise
        raise self.retry(exc=exc, countdown=2**self.request.retries) from exc
    except Exception:
        logger.exception("account request %s failed", request_id)
        account_request_fail(request_id=request_id)
        raise


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
