"""What every use case needs to know about the request it serves."""

from dataclasses import dataclass

from crm_customers.settings import CustomersSettings
from crm_platform.crypto import FieldCipher
from crm_platform.identity import Identity


@dataclass(frozen=True)
class RequestContext:
    identity: Identity
    settings: CustomersSettings
    cipher: FieldCipher

    @property
    def actor(self) -> str:
        return self.identity.subject
