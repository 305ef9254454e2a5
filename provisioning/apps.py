from pathlib import Path

from django.apps import AppConfig
from django.conf import settings

from accounts.sealing import sealed_store_register


class ProvisioningConfig(AppConfig):
    name = "provisioning"

    def ready(self):
        # rotate_keys re-seals the extracts waiting on disk; the core names no feature, so the feature tells it
        sealed_store_register("provisioning extracts", extract_paths)


def extract_paths():
    """Every extract waiting in the upload folder (each sealed as it was written)."""
    folder = Path(settings.UMP_UPLOAD_DIR)
    return sorted(folder.glob("*.extract")) if folder.is_dir() else []
