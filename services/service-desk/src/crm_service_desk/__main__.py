from pathlib import Path

from crm_platform.cli import run_cli
from crm_service_desk.events.handlers import HANDLERS
from crm_service_desk.settings import Settings

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"


def main() -> None:
    run_cli(
        settings_factory=Settings,
        app_factory="crm_service_desk.main:create_app",
        migrations_dir=MIGRATIONS_DIR,
        consumed_types=lambda _settings: HANDLERS,
        default_port=8003,
    )


if __name__ == "__main__":
    main()
