"""Every error Triad raises on purpose, in one tree.

    TriadError
    ├── ConfigurationError            the operator must fix a file or a variable; never retried
    │   ├── MissingCredentialError    a provider needs an environment variable that is unset
    │   ├── UnknownModelError         a model id is not in the registry
    │   └── InvalidConfigError        a config file does not parse or validate
    ├── InputError                    the caller sent something unusable (422)
    ├── NotAuthorizedError            credentials missing or wrong (401)
    ├── NotFoundError                 no such resource, or not the caller's to see (404)
    ├── ConflictError                 the resource's state forbids the action (409)
    ├── TooManyRequestsError          the caller is over a rate limit (429, retry_after seconds)
    ├── BudgetExceededError           a daily budget has nothing left for the call (429); names it
    │   └── RequestCapExceededError   one request is over a per-request token cap (422); names it
    └── ProviderError                 a model call failed at run time
        ├── RateLimitedError          429; carries retry_after seconds when the provider said so
        ├── ProviderUnavailableError  5xx, refused or dropped connection
        │   └── MalformedResponseError  the provider answered with a body we cannot read
        ├── ProviderTimeoutError      no answer within the deadline
        ├── AuthenticationFailedError 401/403; retrying will not help
        ├── BadRequestError           400/404/422; the request itself is wrong
        ├── ContentFilteredError      the provider refused the content
        └── AllProvidersFailedError   every model in a chain failed; carries the attempts

SDK exceptions are converted into this tree once, at the adapter boundary; the routes map it
to HTTP status codes once, in the API layer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class TriadError(Exception):
    """Base of every error Triad raises on purpose."""


class ConfigurationError(TriadError):
    """A configuration mistake the operator has to fix; retrying cannot help."""


class MissingCredentialError(ConfigurationError):
    """A provider needs an environment variable that is not set."""

    def __init__(self, variable: str, model_id: str | None = None) -> None:
        self.variable = variable
        self.model_id = model_id
        who = f" for model '{model_id}'" if model_id else ""
        super().__init__(
            f"environment variable {variable} is not set{who}; set it to use this model"
        )


class UnknownModelError(ConfigurationError):
    """A model id was asked for that the registry does not know."""

    def __init__(self, model_id: str, known: Sequence[str]) -> None:
        self.model_id = model_id
        self.known = list(known)
        known_list = ", ".join(sorted(self.known)) or "none"
        super().__init__(f"unknown model id '{model_id}'; known models: {known_list}")


class InvalidConfigError(ConfigurationError):
    """A configuration file is missing, does not parse, or does not validate."""


class InputError(TriadError):
    """The caller's input cannot be used; the message names what is wrong."""


class NotAuthorizedError(TriadError):
    """The caller's credentials are missing or wrong."""


class ForbiddenError(NotAuthorizedError):
    """Signed in, but the role does not allow this (a staff member on an admin page). HTTP 403."""


class LoginRequiredError(NotAuthorizedError):
    """A console page was opened without a session; pages redirect to /login instead of 401."""


class NotFoundError(TriadError):
    """No such resource, or the caller may not see it; the message never says which."""


class ConflictError(TriadError):
    """The resource is in a state that does not allow the action (e.g. already resolved)."""


class TooManyRequestsError(TriadError):
    """The caller went over a request limit (per address or per key); `retry_after` says when
    the window lets the next request in."""

    def __init__(self, message: str, *, retry_after: float) -> None:
        self.retry_after = retry_after
        super().__init__(message)


class BudgetExceededError(TriadError):
    """A budget refuses the call on every eligible model; `budget` names it for the caller.

    `retry_after` is the number of seconds until the budget's day ends, when known.
    """

    def __init__(self, message: str, *, budget: str, retry_after: float | None = None) -> None:
        self.budget = budget
        self.retry_after = retry_after
        super().__init__(message)


class RequestCapExceededError(BudgetExceededError):
    """The request alone is over a per-request cap (prompt or completion tokens); no model fits."""


class ProviderError(TriadError):
    """A model call failed at run time."""

    retryable: bool = False

    def __init__(
        self, message: str, *, provider: str = "", model: str = "", status_code: int | None = None
    ) -> None:
        self.provider = provider
        self.model = model
        self.status_code = status_code
        super().__init__(message)


class RateLimitedError(ProviderError):
    """The provider said 429; retry_after holds its Retry-After hint in seconds, if any."""

    retryable = True

    def __init__(
        self,
        message: str,
        *,
        provider: str = "",
        model: str = "",
        status_code: int | None = 429,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, provider=provider, model=model, status_code=status_code)
        self.retry_after = retry_after


class ProviderUnavailableError(ProviderError):
    """The provider is down, overloaded or unreachable (5xx or connection failure)."""

    retryable = True


class MalformedResponseError(ProviderUnavailableError):
    """The provider answered, but with a body that does not follow its protocol."""


class ProviderTimeoutError(ProviderError):
    """The provider did not answer within the deadline."""

    retryable = True


class AuthenticationFailedError(ProviderError):
    """The provider rejected the credentials (401/403)."""


class BadRequestError(ProviderError):
    """The provider rejected the request as invalid (400/404/422)."""


class ContentFilteredError(ProviderError):
    """The provider refused to answer because of its content policy."""


@dataclass(frozen=True)
class Attempt:
    """One failed try inside a chain, kept so the final error can name every attempt."""

    model_id: str
    error_type: str
    message: str


class AllProvidersFailedError(ProviderError):
    """Every model in a chain failed; attempts lists what each one said."""

    def __init__(self, attempts: Sequence[Attempt]) -> None:
        self.attempts = list(attempts)
        summary = "; ".join(f"{a.model_id}: {a.error_type}" for a in self.attempts) or "none"
        super().__init__(f"all providers failed ({summary})", status_code=503)
