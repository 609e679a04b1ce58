from pathlib import Path

from crm_gateway.events.handlers import HANDLERS
from crm_gateway.settings import GatewaySettings
from crm_platform.cli import run_cli

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"


def main() -> None:
    run_cli(
        settings_factory=GatewaySettings,
        app_factory="crm_gateway.main:create_app",
        migrations_dir=MIGRATIONS_DIR,
        consumed_types=lambda settings: HANDLERS,
        default_port=8000,
    )


if __name__ == "__main__":
    main()
