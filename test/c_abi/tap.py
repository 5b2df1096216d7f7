"""TAP output shared by the Python checks of the C ABI: one "ok N - what"
line per check (with up to 40 lines of detail after a failure) and the plan
at the end. Imported by the scripts beside it (their folder is on sys.path)."""
import sys

_count = 0
_failed = 0


def check(ok, what, detail="", last_lines=False):
    """Prints one result; returns ok. Detail shows its first 40 lines, or its
    last 40 with last_lines (a compiler's or installer's log ends with the cause)."""
    global _count, _failed
    _count += 1
    print(f"{'ok' if ok else 'not ok'} {_count} - {what}")
    if not ok:
        _failed += 1
        lines = detail.splitlines()
        for line in (lines[-40:] if last_lines else lines[:40]):
            print(f"# {line}")
    return ok


def done(status=None):
    """Prints the plan and exits: 1 when a check failed (or status says so)."""
    print(f"1..{_count}")
    sys.exit(status if status is not None else (1 if _failed else 0))
