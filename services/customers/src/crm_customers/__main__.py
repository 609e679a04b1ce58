from pathlib import Path

from crm_customers.events.handlers import build_handlers
from crm_customers.settings import CustomersSettings
from crm_platform.cli import run_cli

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"


def main() -> None:
    run_cli(
        settings_factory=CustomersSettings,
        app_factory="crm_customers.main:create_app",
        migrations_dir=MIGRATIONS_DIR,
        consumed_types=lambda settings: build_handlers(settings),
        default_port=8001,
    )


if __name__ == "__main__":
    main()
