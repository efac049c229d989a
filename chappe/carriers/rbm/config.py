"""The settings of an RBM connector. The bearer token and the webhook's client token are
secrets the platform must read back: they are sealed (`common.sealing`) when the config
is validated, so `Connector.config` — the admin, the database, a dump — holds only seals.
A value that already is a seal of this platform is kept as it is (configs are validated
again each time a connector is built)."""

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, HttpUrl

from chappe.common.sealing import SealBroken, seal, unseal


def _sealed(value: str) -> str:
    try:
        unseal(value)
    except SealBroken:
        return seal(value)
    return value


Sealed = Annotated[str, Field(min_length=1, max_length=4096), AfterValidator(_sealed)]


class RbmConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # The API root, e.g. https://europe-rcsbusinessmessaging.googleapis.com (no /v1).
    base_url: HttpUrl
    # Our agents' sender ids (`rcs-…`) → the RBM agent ids they send as.
    agents: dict[Annotated[str, Field(min_length=1, max_length=64)],
                 Annotated[str, Field(min_length=1, max_length=200)]] = Field(min_length=1)
    # OAuth bearer token of the service account (sealed).
    token: Sealed
    # RBM's webhook "client token": the HMAC key of X-Goog-Signature (sealed).
    webhook_secret: Sealed
    timeout_seconds: float = Field(10.0, gt=0, le=60)

    def secret(self, name: str) -> str:
        return unseal(getattr(self, name))
