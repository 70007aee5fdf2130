"""The login lockout's bookkeeping (the hub end to end is tests/integration/test_hub_operations)."""

from __future__ import annotations

from workspace.hub.auth import LockedOutError, LoginLockout


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _fail(lock: LoginLockout, name: str, times: int = 1) -> None:
    for _ in range(times):
        lock.begin(name)
        lock.failed(name)


def test_failures_outside_the_window_do_not_count() -> None:
    clock = Clock()
    lock = LoginLockout(max_failures=3, window=60, lockout=300, clock=clock)
    _fail(lock, "ada", 2)
    clock.now += 61  # the first two are forgotten
    _fail(lock, "ada", 2)
    assert lock.locked_for("ada") == 0.0
    _fail(lock, "ada")
    assert lock.locked_for("ada") == 300.0
    clock.now += 299.5
    assert lock.locked_for("ada") == 0.5
    clock.now += 1
    assert lock.locked_for("ada") == 0.0
    _fail(lock, "ada")  # a fresh start after the lockout
    assert lock.locked_for("ada") == 0.0


def test_success_clears_and_names_are_independent() -> None:
    lock = LoginLockout(max_failures=2, window=60, lockout=60, clock=Clock())
    _fail(lock, "ada")
    lock.begin("ada")
    lock.succeeded("ada")
    _fail(lock, "ada")
    assert lock.locked_for("ada") == 0.0
    _fail(lock, "bob", 2)
    assert lock.locked_for("bob") == 60.0 and lock.locked_for("ada") == 0.0


def test_concurrent_guesses_count_before_the_password_is_checked() -> None:
    lock = LoginLockout(max_failures=3, window=60, lockout=60, clock=Clock())
    for _ in range(3):  # three guesses in flight at once
        lock.begin("ada")
    lock.failed("ada")  # the first answer already locks the name
    assert lock.locked_for("ada") == 60.0


def test_zero_failures_turns_it_off_and_memory_is_bounded() -> None:
    off = LoginLockout(max_failures=0, window=60, lockout=60, clock=Clock())
    _fail(off, "ada", 50)
    assert off.locked_for("ada") == 0.0
    lock = LoginLockout(max_failures=5, window=60, lockout=60, clock=Clock(), max_names=10)
    for i in range(100):
        _fail(lock, f"guess{i}")
    assert len(lock._failures) <= 11


def test_lockout_message_names_the_user_and_the_minutes() -> None:
    err = LockedOutError("ada", 61)
    assert err.status_code == 403
    assert err.jupyterhub_message == (
        "Too many failed logins for ada; try again in 2 minutes or ask an admin."
    )
    assert "in 1 minute or" in LockedOutError("ada", 5).jupyterhub_message
