from pathlib import Path

from crm_engagement.events.handlers import build_handlers
from crm_engagement.settings import Settings
from crm_platform.cli import run_cli

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"


def main() -> None:
    run_cli(
        settings_factory=Settings,
        app_factory="crm_engagement.main:create_app",
        migrations_dir=MIGRATIONS_DIR,
        consumed_types=build_handlers,
        default_port=8002,
    )


if __name__ == "__main__":
    main()
