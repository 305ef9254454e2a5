"""What the sync returns: a run's report, and the error for a run that cannot go ahead."""

from dataclasses import dataclass, field

from provisioning.records import Refusal


class ProvisioningError(Exception):
    """A run that cannot go ahead (an unreadable file, a run in the wrong state)."""


@dataclass
class Report:
    """What a run did, or with dry_run or a hold, would do."""

    created: int = 0
    updated: int = 0
    transferred_in: int = 0
    deactivated: int = 0
    reactivated: int = 0
    unchanged: int = 0
    refused: list[Refusal] = field(default_factory=list)
    name_changes: int = 0
    held: str = ""
    dry_run: bool = False
    run_id: int | None = None
    rows: int = 0

    def counts(self) -> dict[str, int]:
        return {
            "created": self.created,
            "updated": self.updated,
            "transferred_in": self.transferred_in,
            "deactivated": self.deactivated,
            "reactivated": self.reactivated,
            "unchanged": self.unchanged,
            "refused": len(self.refused),
            "held": 1 if self.held else 0,
        }

    def as_dict(self) -> dict:
        return {
            **self.counts(),
            "run": self.run_id,
            "dry_run": self.dry_run,
            "hold_reason": self.held,
            "name_changes": self.name_changes,
            "refused_rows": [
                {"row": r.row, "reason": r.reason.value, **_field(r.field), "message": r.message}
                for r in self.refused
            ],
        }


def _field(name: str) -> dict:
    # only OneRoster rows name a field: an MIS row's message already says where to look
    return {"field": name} if name else {}
